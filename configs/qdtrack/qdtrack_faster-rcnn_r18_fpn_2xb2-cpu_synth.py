# QDTrack on the embedded synthetic benchmark, sized for 2 CPU cores.
# Make the data with `python tools/demo.py` (or make_synthetic_mot.py +
# mot2coco.py) under data/synth/none/.
_base_ = [
    '../_base_/models/qdtrack_faster-rcnn_r18_fpn.py',
    '../_base_/datasets/synthetic.py', '../_base_/default_runtime.py'
]

# 4 epochs (960 iterations) keep `make demo` within 30 min on 2 slow cores
max_epochs = 4
# 4 x the linear rule's lr for 2 frames (mmdet: 0.02 for 16), with mmdet's
# usual warm-up (500 iterations from 0.001 x): a larger lr with a shorter
# warm-up killed most of the RoI head's ReLUs with some seeds (every RoI
# then gets one score and the model detects nothing).
base_lr = 0.01
warmup_iters = 500

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.001,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[max_epochs - 1])
]
# no validation inside training (tools/test.py tests a checkpoint)
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=max_epochs + 1,
    val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
