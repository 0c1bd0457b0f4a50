# Online DARTH (OnlineAdaptationTestLoop), to put beside an offline DARTH
# config:   _base_ = ['./darth_...py', '../_base_/schedules/darth_online.py']
#           test_cfg = {{_base_.darth_online_test_cfg}}
# (mmengine forbids two bases defining `test_cfg`, hence the variable). The
# choices are explained in
# configs/darth/darth-online_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py.
darth_online_test_cfg = dict(
    _delete_=True,
    type='OnlineAdaptationTestLoop',
    optim_wrapper=dict(
        type='OptimWrapper',
        optimizer=dict(
            type='SGD', lr=0.002, momentum=0.0, weight_decay=0.0001),
        clip_grad=dict(max_norm=35, norm_type=2)),
    trainable=['detector.rpn_head', 'detector.roi_head', 'track_head'],
    reset='video',
    track_with='teacher',
    interval=1,
    ema_momentum=0.01,
    bn_momentum=0.05,
    # skip rule: adapt only when the mean confidence of the tracked boxes
    # is below this (None: every frame); it keeps clean frames untouched
    skip_conf_thr=0.5)
# fewer proposals: a step costs about one tracking pass
darth_online_model = dict(
    pcl_proposal_cfg=dict(nms_pre=50, max_per_img=32),
    distill_proposal_cfg=dict(nms_pre=100, max_per_img=32))
