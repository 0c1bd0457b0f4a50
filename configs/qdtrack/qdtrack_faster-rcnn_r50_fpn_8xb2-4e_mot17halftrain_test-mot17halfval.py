# Mirror of mmdet 3.3's QDTrack MOT17 half-train / half-val config, with a
# frozen-BN ResNet-50. Weights are local files (nothing downloads): put
# torchvision's resnet50 state dict and a COCO(-person) Faster R-CNN
# checkpoint at the paths below, or override
#   model.detector.backbone.init_cfg.checkpoint=PATH
#   model.detector.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/models/qdtrack_faster-rcnn_r50_fpn.py',
    '../_base_/datasets/mot_challenge.py',
    '../_base_/schedules/qdtrack_4e.py', '../_base_/default_runtime.py'
]

model = dict(
    detector=dict(
        backbone=dict(
            init_cfg=dict(
                _delete_=True,
                type='Pretrained',
                checkpoint='checkpoints/resnet50-torchvision.pth')),
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='checkpoints/faster-rcnn_r50_fpn_1x_coco-person.pth')))

default_hooks = dict(logger=dict(type='LoggerHook', interval=50))
custom_hooks = [dict(type='SyncBuffersHook')]
# The fluctuation of HOTA is about +-1.
randomness = dict(seed=6)
