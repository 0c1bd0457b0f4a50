# A CPU-sized QDTrack: ResNet-18 FPN with narrow heads and small samplers,
# trained from scratch (trainable BN). Sized for 2 CPU cores at ~192 px.
# Speed on CPU: torchvision's RoIAlign kernels with 2 samples per bin (same
# outputs and losses as mmcv's here, and faster), and 300 proposals per
# level before NMS at test time. Training keeps 1000 per level: with 300
# the RoI classifier of the source model stays at all-background.
_base_ = './qdtrack_faster-rcnn_r50_fpn.py'

fpn_channels = 64
strides = [4, 8, 16, 32]
roi_layer = dict(
    type='RoIAlign', output_size=7, sampling_ratio=2, use_torchvision=True)
train_nms_pre = 1000
test_nms_pre = 300

model = dict(
    detector=dict(
        backbone=dict(
            depth=18,
            frozen_stages=-1,
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=False),
        neck=dict(
            in_channels=[64, 128, 256, 512],
            out_channels=fpn_channels,
            num_outs=len(strides)),
        rpn_head=dict(
            in_channels=fpn_channels,
            feat_channels=fpn_channels,
            anchor_generator=dict(strides=strides)),
        roi_head=dict(
            bbox_roi_extractor=dict(
                roi_layer=roi_layer,
                out_channels=fpn_channels,
                featmap_strides=strides),
            bbox_head=dict(in_channels=fpn_channels, fc_out_channels=256)),
        train_cfg=dict(
            rpn_proposal=dict(nms_pre=train_nms_pre, max_per_img=300),
            rcnn=dict(sampler=dict(num=128))),
        test_cfg=dict(rpn=dict(nms_pre=test_nms_pre, max_per_img=100))),
    track_head=dict(
        roi_extractor=dict(
            roi_layer=roi_layer,
            out_channels=fpn_channels,
            featmap_strides=strides),
        embed_head=dict(
            num_convs=2,
            in_channels=fpn_channels,
            conv_out_channels=fpn_channels,
            fc_out_channels=256,
            embed_channels=128,
            norm_cfg=dict(type='GN', num_groups=16)),
        train_cfg=dict(sampler=dict(num=64))),
    tracker=dict(init_score_thr=0.8, obj_score_thr=0.5))
