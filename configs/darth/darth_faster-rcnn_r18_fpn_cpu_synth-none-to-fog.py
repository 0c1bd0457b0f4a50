# DARTH adaptation of the synthetic source QDTrack
# (configs/qdtrack/qdtrack_faster-rcnn_r18_fpn_2xb2-cpu_synth.py) to the fog
# target set, sized for 2 CPU cores. `tools/demo.py` runs it with
# load_from=<source checkpoint>; by hand:
#   python tools/train.py THIS --cfg-options load_from=SOURCE.pth
_base_ = [
    '../_base_/models/qdtrack_faster-rcnn_r18_fpn.py',
    '../_base_/models/darth.py',
    '../_base_/datasets/synthetic_target.py',
    '../_base_/schedules/darth_4e.py', '../_base_/default_runtime.py'
]

model = {{_base_.darth_model}}

max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
