# Local weights for the R50 QDTrack configs (nothing is downloaded): put
# torchvision's resnet50 state dict and a COCO(-person) Faster R-CNN
# checkpoint at these paths, or override
#   model.detector.backbone.init_cfg.checkpoint=PATH
#   model.detector.init_cfg.checkpoint=PATH
# Used as `model = {{_base_.pretrained_r50}}` (mmengine forbids two bases
# defining `model`).
pretrained_r50 = dict(
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
