# Unlabelled target frames of the synthetic benchmark in DARTH's four views,
# made in the dataloader workers:
#   pseudo P = flip + resize(frame)   (teacher pseudo-labels on it)
#   teacher T = geometric(frame)      student S = photometric(T)
#   contrastive C = geometric'(frame) + photometric'
# Test / val: the labelled target val split.
_base_ = './synthetic.py'

target_root = 'data/synth/target-C/fog-3/'
img_scale = (192, 192)
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
# P: the frame at the train pipeline's resolution, flipped as DARTH's P
pseudo = [
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=img_scale, keep_ratio=True)
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
# AdaBN's pass over them: changes to train_dataloader (the AdaBN configs, and
# DARTH's bn_stats='target' start through train_cfg.bn_dataloader)
adabn_dataloader = dict(
    batch_size=8, dataset=dict(pipeline=adabn_train_pipeline))

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='UnlabeledVideoDataset',
        data_root=target_root,
        ann_file='annotations/train_cocoformat.json',
        data_prefix=dict(img_path='train/'),
        metainfo=dict(classes={{_base_.classes}}),
        pipeline=darth_train_pipeline))
val_dataloader = dict(dataset=dict(data_root=target_root))
test_dataloader = dict(dataset=dict(data_root=target_root))
