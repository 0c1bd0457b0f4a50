# AdaBN (Li et al., 2016): one pass of the unlabelled target frames through
# the source model re-estimates its backbone BatchNorm / FrozenBN statistics
# (no gradient, no label), then they are frozen (AdaBNLoop).
#   python tools/train.py CONFIG --cfg-options load_from=SOURCE.pth
#   python tools/test.py CONFIG WORK_DIR/epoch_1.pth
train_cfg = dict(type='AdaBNLoop', modules=['detector.backbone'])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the runner needs an optimiser to build; AdaBN never steps it
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.0))
custom_hooks = [dict(type='SourceCheckpointHook')]
