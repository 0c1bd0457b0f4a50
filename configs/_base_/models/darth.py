# DARTH's model keys, to put on top of a QDTrack model base:
#   _base_ = ['../_base_/models/qdtrack_faster-rcnn_r18_fpn.py',
#             '../_base_/models/darth.py', ...]
#   model = {{_base_.darth_model}}
# (mmengine forbids two bases defining `model`, hence the variable).
# Ablations (README): model.loss_rpn_distillation=None,
# model.loss_roi_distillation=None, model.with_pcl=False.
distillation_weight = 0.1

darth_model = dict(
    type='DARTHQDTrack',
    teacher=dict(eval_teacher_preds=False, eval_mode_teacher=True),
    loss_rpn_distillation=dict(
        type='RPNDistillationLoss',
        loss_weight=distillation_weight,
        reg_valid_threshold=0.1),
    loss_roi_distillation=dict(
        type='ROIDistillationLoss', loss_weight=distillation_weight),
    conf_thr=0.7,
    with_pcl=True,
    min_visible=0.3)
