# DARTH target: unlabelled MOT17 half-val frames in four views (adaptation
# on the test sequences, as DARTH does), tested on MOT17 half-val.
_base_ = './mot_challenge.py'

img_scale = (1088, 1088)
geometric = [
    dict(
        type='RandomResize',
        scale=img_scale,
        ratio_range=(0.8, 1.2),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=img_scale, bbox_clip_border=False),
    dict(type='RandomFlip', prob=0.5),
]
photometric = [dict(type='PhotoMetricDistortion')]
# P: the frame at DARTH's target train resolution (its train pipeline:
# SeqRandomFlip, SeqResize((1920, 1080), keep_ratio=False))
pseudo = [
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(1920, 1080), keep_ratio=False)
]
darth_train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(
        type='MultiViewPipeline',
        views=dict(
            pseudo=dict(transforms=pseudo),
            teacher=dict(transforms=geometric),
            student=dict(source='teacher', transforms=photometric),
            contrastive=dict(transforms=geometric + photometric))),
    # no padding here: the data preprocessor pads each view's batch after
    # normalisation (MultiViewDataPreprocessor, as DARTH)
    dict(type='PackMultiViewInputs', meta_keys=('view', 'view_homography')),
]

# AdaBN (configs/adabn/): the target frames as the tracker sees them at
# test time, one view each
adabn_train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='MultiViewPipeline', views=dict(frame=dict(transforms=[]))),
    dict(type='PackTrackInputs', meta_keys=('view', 'view_homography')),
]

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='UnlabeledVideoDataset',
        data_root={{_base_.data_root}},
        ann_file='annotations/half-val_cocoformat.json',
        data_prefix=dict(img_path='train/'),
        metainfo=dict(classes={{_base_.classes}}),
        pipeline=darth_train_pipeline))
