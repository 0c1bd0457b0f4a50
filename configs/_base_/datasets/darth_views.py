# The unlabelled target frames as DARTH and AdaBN read them, made in the
# dataloader workers, for a target data set base to put beside its source
# data set base (mot_target.py, synthetic_target.py). Sized for
# MOTChallenge's 1088 px (view_scale); synthetic_target.py maps the sizes
# to its own.
#
# DARTH's four views of a frame, each made from the loaded frame:
#   pseudo P = flip + resize(frame)   (teacher pseudo-labels on it)
#   teacher T = geometric(frame)      student S = photometric(T)
#   contrastive C = geometric'(frame) + photometric'
# No padding here: the data preprocessor pads each view's batch after
# normalisation (MultiViewDataPreprocessor, as DARTH).
view_scale = (1088, 1088)
geometric = [
    dict(
        type='RandomResize',
        scale=view_scale,
        ratio_range=(0.8, 1.2),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=view_scale, bbox_clip_border=False),
    dict(type='RandomFlip', prob=0.5),
]
photometric = [dict(type='PhotoMetricDistortion')]
# P: the frame at DARTH's target train resolution (its train pipeline:
# SeqRandomFlip, SeqResize((1920, 1080), keep_ratio=False))
pseudo_resize = dict(type='Resize', scale=(1920, 1080), keep_ratio=False)
pseudo = [dict(type='RandomFlip', prob=0.5), pseudo_resize]

darth_train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(
        type='MultiViewPipeline',
        views=dict(
            pseudo=dict(transforms=pseudo),
            teacher=dict(transforms=geometric),
            student=dict(source='teacher', transforms=photometric),
            contrastive=dict(transforms=geometric + photometric))),
    dict(type='PackMultiViewInputs', meta_keys=('view', 'view_homography')),
]

# AdaBN (configs/adabn/): the target frames as the tracker sees them at
# test time, one view each
adabn_train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=view_scale, keep_ratio=True),
    dict(type='MultiViewPipeline', views=dict(frame=dict(transforms=[]))),
    dict(type='PackTrackInputs', meta_keys=('view', 'view_homography')),
]

# Online DARTH (configs/darth/darth-online_*): the views of the frame just
# tracked, for one step at tracking speed: crops of online_crop (T = P, so
# the teacher runs once), unpadded as darth_train_pipeline's (the data
# preprocessor pads them after normalisation). Half the 1088 px side here;
# not tuned on these data sets.
online_crop = (544, 544)
online_adapt_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=view_scale, keep_ratio=True),
    dict(
        type='MultiViewPipeline',
        views=dict(
            pseudo=dict(
                transforms=[dict(type='RandomCrop', crop_size=online_crop)]),
            teacher=dict(source='pseudo', transforms=[]),
            student=dict(source='teacher', transforms=photometric),
            contrastive=dict(transforms=[
                dict(type='RandomCrop', crop_size=online_crop),
                dict(type='RandomFlip', prob=0.5)
            ] + photometric))),
    dict(type='PackMultiViewInputs', meta_keys=('view', 'view_homography')),
]
