"""TeacherQDTrack with detection-consistency (distillation) losses."""
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from .teacher_qdtrack import TeacherQDTrack


@MODELS.register_module()
class KDQDTrack(TeacherQDTrack):
    """Teacher / student QDTrack with RPN and RoI distillation (DARTH).

    Adds :meth:`distillation_losses` to :class:`TeacherQDTrack`; its own
    ``loss`` stays the supervised QDTrack loss. :class:`DARTHQDTrack` uses
    the distillation on unlabelled target frames.

    Args:
        loss_rpn_distillation (dict, optional): e.g. ``dict(type=
            'RPNDistillationLoss', loss_weight=0.1, reg_valid_threshold=0.1)``;
            None switches it off.
        loss_roi_distillation (dict, optional): e.g. ``dict(type=
            'ROIDistillationLoss', loss_weight=0.1)``; None switches it off.
        **kwargs: :class:`TeacherQDTrack` arguments.
    """

    def __init__(self,
                 *args,
                 loss_rpn_distillation: Optional[dict] = None,
                 loss_roi_distillation: Optional[dict] = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_rpn_distillation = MODELS.build(loss_rpn_distillation) \
            if loss_rpn_distillation else None
        self.loss_roi_distillation = MODELS.build(loss_roi_distillation) \
            if loss_roi_distillation else None

    def rpn_outputs(self, feats: Tuple[Tensor], teacher: bool
                    ) -> Dict[str, List[Tensor]]:
        """Raw RPN logits / deltas: ``cls_scores`` per level (N, A, H, W),
        ``bbox_preds`` per level (N, 4A, H, W)."""
        head = (self.teacher_detector if teacher else self.detector).rpn_head
        cls_scores, bbox_preds = head(feats)
        return dict(cls_scores=cls_scores, bbox_preds=bbox_preds)

    def teacher_proposals(self, rpn_out: Dict[str, List[Tensor]],
                          batch_img_metas: List[dict]) -> InstanceList:
        """Teacher RPN proposals from its raw outputs (test-time config)."""
        detector = self.teacher_detector
        with torch.no_grad():
            return detector.rpn_head.predict_by_feat(
                rpn_out['cls_scores'], rpn_out['bbox_preds'],
                batch_img_metas=batch_img_metas, cfg=detector.test_cfg.rpn,
                rescale=False)

    def distillation_losses(
            self,
            student_feats: Tuple[Tensor],
            teacher_feats: Tuple[Tensor],
            batch_img_metas: List[dict],
            student_rpn: Optional[Dict[str, List[Tensor]]] = None) -> dict:
        """RPN and RoI consistency between student and teacher features of
        the same geometry; RoI heads run on the *teacher's* proposals.

        Args:
            student_feats, teacher_feats (tuple[Tensor]): FPN features.
            batch_img_metas (list[dict]): Metas of the teacher-view images.
            student_rpn (dict, optional): Student :meth:`rpn_outputs` when
                already computed.

        Returns:
            dict: ``loss_rpn_distillation`` / ``loss_roi_distillation``,
            whichever is switched on.
        """
        losses = dict()
        if self.loss_rpn_distillation is None and \
                self.loss_roi_distillation is None:
            return losses
        with torch.no_grad():
            t_rpn = self.rpn_outputs(teacher_feats, teacher=True)
        if self.loss_rpn_distillation is not None:
            s_rpn = student_rpn or self.rpn_outputs(student_feats, False)
            losses['loss_rpn_distillation'] = self.loss_rpn_distillation(
                s_rpn, t_rpn)
        if self.loss_roi_distillation is not None:
            proposals = self.teacher_proposals(t_rpn, batch_img_metas)
            rois = bbox2roi([p.bboxes for p in proposals])  # (R, 5)
            with torch.no_grad():
                t_roi = self.teacher_detector.roi_head._bbox_forward(
                    teacher_feats, rois)
            s_roi = self.detector.roi_head._bbox_forward(student_feats, rois)
            losses['loss_roi_distillation'] = self.loss_roi_distillation(
                s_roi, t_roi)
        return losses
