# DARTH's adapter schedule: SGD lr 0.002 for a total batch of 16 (8 GPUs x
# 2), momentum 0.9, weight decay 1e-4, gradient clipping at 35, 4 epochs
# with the lr step (x 0.1) after epoch 3, and the EMA teacher hook.
# `tools/train.py --auto-scale-lr` (or auto_scale_lr.enable=True) scales
# the lr linearly to the actual total batch (mmdet's convention).
# `load_from` must be the source QDTrack checkpoint (teacher weights are
# duplicated from it); SourceCheckpointHook refuses to start without it.
max_epochs = 4
lr_step_epoch = 3
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[lr_step_epoch])
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
# bn_stats='source': the source statistics stay frozen (DARTH as
# published); 'target' re-estimates them on the unlabelled target frames
# before the first step (AdaBN start, see AdaptationTrainLoop)
train_cfg = dict(
    type='AdaptationTrainLoop',
    max_epochs=max_epochs,
    val_interval=max_epochs,
    bn_stats='source')
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [
    dict(type='SourceCheckpointHook'),
    dict(type='EMATrainHook', momentum=0.002, interval=1, warm_up=100)
]
