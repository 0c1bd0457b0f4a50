# The embedded synthetic MOT benchmark (tools/dataset_converters/
# make_synthetic_mot.py + mot2coco.py): mot_challenge.py with this data
# set's root, splits and 192 px frames. Root, annotation file and image
# folder use mmdet's standard keys, so `--cfg-options
# train_dataloader.dataset.data_root=... ann_file=... data_prefix.img_path=...`
# retargets any split to another MOTChallenge-layout folder.
_base_ = './mot_challenge.py'

data_root = 'data/synth/none/'
img_scale = (192, 192)

# mot_challenge.py's pipelines at 192 px, reference frames within 4 frames
# of the key frame, and no photometric augmentation on the source domain:
# the benchmark measures how a tracker trained on one look copes with
# another.
train_pipeline = _base_.train_pipeline
train_pipeline[0].frame_range = 4  # UniformRefFrameSample
train_pipeline[1].transforms = [
    t for t in train_pipeline[1].transforms
    if t.type != 'PhotoMetricDistortion'
]
train_pipeline[1].transforms[2].scale = img_scale  # RandomResize
train_pipeline[2].transforms[0].crop_size = img_scale  # RandomCrop
test_pipeline = _base_.test_pipeline
test_pipeline[0].transforms[1].scale = img_scale  # Resize

train_dataloader = dict(
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/train_cocoformat.json',
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/val_cocoformat.json',
        data_prefix=dict(img_path='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
