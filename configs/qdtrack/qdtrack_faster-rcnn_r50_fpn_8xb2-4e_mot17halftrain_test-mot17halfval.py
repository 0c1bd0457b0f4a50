# Mirror of mmdet 3.3's QDTrack MOT17 half-train / half-val config, with a
# frozen-BN ResNet-50 from local weights (see _base_/models/pretrained_r50.py).
_base_ = [
    '../_base_/models/qdtrack_faster-rcnn_r50_fpn.py',
    '../_base_/models/pretrained_r50.py',
    '../_base_/datasets/mot_challenge.py',
    '../_base_/schedules/qdtrack_4e.py', '../_base_/default_runtime.py'
]

model = {{_base_.pretrained_r50}}

custom_hooks = [dict(type='SyncBuffersHook')]
# mmdet's seed for this config
randomness = dict(seed=6)
