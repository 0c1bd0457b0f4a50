# DARTH's adapter schedule: SGD lr 0.002, momentum 0.9, weight decay 1e-4,
# gradient clipping at 35, and the EMA teacher hook. `load_from` must be the
# source QDTrack checkpoint (teacher weights are duplicated from it).
max_epochs = 4
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = []
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [
    dict(type='EMATrainHook', momentum=0.002, interval=1, warm_up=100)
]
