# DARTH's model keys, to put on top of a QDTrack model base:
#   _base_ = ['../_base_/models/qdtrack_faster-rcnn_r18_fpn.py',
#             '../_base_/models/darth.py', ...]
#   model = {{_base_.darth_model}}   (or kd_model)
# (mmengine forbids two bases defining `model`, hence the variable).
# DARTH's ablation switches: model.loss_rpn_distillation=None,
# model.loss_roi_distillation=None, model.with_pcl=False.
distillation_weight = 0.1

# DARTH's adaptation regime: the backbone's BatchNorm is frozen (statistics
# and affine, FrozenBN) and the stem + layer1 are frozen (frozen_stages=1),
# so the train-mode student and the eval-mode teacher compute the same
# function at the start. A source checkpoint trained with ordinary
# BatchNorm loads into it (its statistics become FrozenBN buffers).
darth_backbone = dict(
    frozen_stages=1,
    norm_cfg=dict(type='FrozenBN', requires_grad=False),
    norm_eval=True)

# KDQDTrack: supervised track loss + distillation on labelled frames
kd_model = dict(
    type='KDQDTrack',
    detector=dict(backbone=darth_backbone),
    teacher=dict(eval_teacher_preds=False, eval_mode_teacher=True),
    loss_rpn_distillation=dict(
        type='RPNDistillationLoss',
        loss_weight=distillation_weight,
        reg_valid_threshold=0.1),
    loss_roi_distillation=dict(
        type='ROIDistillationLoss', loss_weight=distillation_weight))

# DARTHQDTrack: unsupervised, on the four views of unlabelled frames
# (views of different sizes, each view's batch padded after normalisation)
darth_model = dict(
    kd_model, type='DARTHQDTrack', conf_thr=0.7, with_pcl=True,
    min_visible=0.3,
    data_preprocessor=dict(type='MultiViewDataPreprocessor'))
