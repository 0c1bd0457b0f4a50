# AdaBN baseline for the synthetic demo shift: the source QDTrack's backbone
# BatchNorm statistics are re-estimated on the unlabelled target train split
# (no gradient, no label), then frozen.
#   python tools/train.py THIS --cfg-options load_from=SOURCE.pth
#   python tools/test.py THIS WORK_DIR/epoch_1.pth
_base_ = [
    '../_base_/models/qdtrack_faster-rcnn_r18_fpn.py',
    '../_base_/datasets/synthetic_target.py',
    '../_base_/schedules/adabn.py', '../_base_/default_runtime.py'
]

train_dataloader = {{_base_.adabn_dataloader}}
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
