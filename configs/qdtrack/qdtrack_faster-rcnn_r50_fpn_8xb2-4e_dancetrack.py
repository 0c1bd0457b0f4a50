# QDTrack on DanceTrack train, tested on val, with a frozen-BN ResNet-50 from
# local weights (see _base_/models/pretrained_r50.py).
_base_ = [
    '../_base_/models/qdtrack_faster-rcnn_r50_fpn.py',
    '../_base_/models/pretrained_r50.py', '../_base_/datasets/dancetrack.py',
    '../_base_/schedules/qdtrack_4e.py', '../_base_/default_runtime.py'
]

model = {{_base_.pretrained_r50}}

custom_hooks = [dict(type='SyncBuffersHook')]
