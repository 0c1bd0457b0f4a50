# Online DARTH mirror for bdd100kval-pedestrian (R50-FPN, frozen BN): tracks
# the target and adapts frame by frame (OnlineAdaptationTestLoop); the choices
# are those of darth-online_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py,
# measured there on CPU. Untested on this data set here (GPU work):
#   python tools/test.py THIS SOURCE_QDTRACK.pth
_base_ = [
    './darth_faster-rcnn_r50_fpn_4e_bdd100kval-pedestrian.py',
    '../_base_/schedules/darth_online.py'
]

# crops of half the 1088 px side (the synthetic config's are a third of
# its 192 px frame); not tuned on these data sets
online_crop = (544, 544)
photometric = [dict(type='PhotoMetricDistortion')]
online_adapt_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
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
            ] + photometric)),
        post=[dict(type='Pad', size=online_crop)]),
    dict(type='PackTrackInputs', meta_keys=('view', 'view_homography')),
]

model = {{_base_.darth_online_model}}
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            type='TrackAndAdaptInputs',
            track={{_base_.test_pipeline}},
            adapt=online_adapt_pipeline)
    ]))
test_cfg = {{_base_.darth_online_test_cfg}}
