"""TeacherQDTrack with detection-consistency (distillation) losses."""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import ConfigDict
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.structures import TrackSampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from .teacher_qdtrack import TeacherQDTrack


@MODELS.register_module()
class KDQDTrack(TeacherQDTrack):
    """Teacher / student QDTrack with RPN and RoI distillation (DARTH).

    ``loss`` is DARTH's ``KDQDTrack.forward_train`` on labelled (key,
    reference) frame pairs: the frozen teacher and the student see the same
    key frame; RPN and RoI distillation (RoI heads on the teacher's
    proposals) train the detector, and QDTrack's track loss on the ground
    truth trains the track head, on the student's proposals of both frames.
    As in DARTH's class, the detector gets no supervised detection loss: the
    teacher's outputs take its place. :class:`DARTHQDTrack` reuses
    :meth:`distillation_losses` on unlabelled target frames.

    Args:
        loss_rpn_distillation (dict, optional): e.g. ``dict(type=
            'RPNDistillationLoss', loss_weight=0.1, reg_valid_threshold=0.1)``;
            None switches it off.
        loss_roi_distillation (dict, optional): e.g. ``dict(type=
            'ROIDistillationLoss', loss_weight=0.1)``; None switches it off.
        distill_proposal_cfg (dict, optional): RPN config of the teacher
            proposals the RoI heads are compared on. Defaults to the
            teacher's test-time RPN config.
        **kwargs: :class:`TeacherQDTrack` arguments.
    """

    def __init__(self,
                 *args,
                 loss_rpn_distillation: Optional[dict] = None,
                 loss_roi_distillation: Optional[dict] = None,
                 distill_proposal_cfg: Optional[dict] = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.distill_proposal_cfg = distill_proposal_cfg
        self.loss_rpn_distillation = MODELS.build(loss_rpn_distillation) \
            if loss_rpn_distillation else None
        self.loss_roi_distillation = MODELS.build(loss_roi_distillation) \
            if loss_roi_distillation else None

    def loss(self, inputs: Tensor, data_samples: TrackSampleList,
             **kwargs) -> dict:
        """Distillation + supervised track losses of (key, ref) pairs.

        Args:
            inputs (Tensor): (N, 2, C, H, W) key and reference images.
            data_samples (list[TrackDataSample]): With gt instances
                (``instances_ids`` >= 1 match key and reference boxes).

        Returns:
            dict: ``loss_rpn_distillation`` / ``loss_roi_distillation``
            (those switched on), ``loss_track`` and ``loss_track_aux``.
        """
        key_imgs, ref_imgs, key_samples, ref_samples = self.split_key_ref(
            inputs, data_samples)
        with torch.no_grad():
            teacher_feats = self.teacher_detector.extract_feat(key_imgs)
        x = self.detector.extract_feat(key_imgs)
        ref_x = self.detector.extract_feat(ref_imgs)
        student_rpn = self.rpn_outputs(x, teacher=False)
        metas = [s.metainfo for s in key_samples]
        losses = self.distillation_losses(x, teacher_feats, metas,
                                          student_rpn)
        # proposals as DARTH's (simple_test_rpn: test-time RPN config)
        with torch.no_grad():
            key_props = self.detector.rpn_head.predict_by_feat(
                [c.detach() for c in student_rpn['cls_scores']],
                [b.detach() for b in student_rpn['bbox_preds']],
                batch_img_metas=metas, cfg=self.detector.test_cfg.rpn,
                rescale=False)
            ref_props = self.detector.rpn_head.predict(ref_x, ref_samples,
                                                       rescale=False)
        for props in key_props:  # the track head samples key `priors`
            props.priors = props.pop('bboxes')
        losses.update(self.track_head.loss(x, ref_x, key_props, ref_props,
                                           data_samples))
        return losses

    def rpn_outputs(self, feats: Tuple[Tensor], teacher: bool
                    ) -> Dict[str, List[Tensor]]:
        """Raw RPN logits / deltas: ``cls_scores`` per level (N, A, H, W),
        ``bbox_preds`` per level (N, 4A, H, W)."""
        head = (self.teacher_detector if teacher else self.detector).rpn_head
        cls_scores, bbox_preds = head(feats)
        return dict(cls_scores=cls_scores, bbox_preds=bbox_preds)

    def teacher_proposals(self,
                          rpn_out: Dict[str, List[Tensor]],
                          batch_img_metas: List[dict],
                          cfg: Optional[dict] = None) -> InstanceList:
        """Teacher RPN proposals from its raw outputs, with ``cfg`` or else
        the distillation config (``distill_proposal_cfg`` over the teacher's
        test-time RPN config)."""
        detector = self.teacher_detector
        if cfg is None:
            cfg = ConfigDict({**detector.test_cfg.rpn,
                              **(self.distill_proposal_cfg or {})})
        with torch.no_grad():
            return detector.rpn_head.predict_by_feat(
                rpn_out['cls_scores'], rpn_out['bbox_preds'],
                batch_img_metas=batch_img_metas, cfg=cfg, rescale=False)

    def distillation_losses(
            self,
            student_feats: Tuple[Tensor],
            teacher_feats: Tuple[Tensor],
            batch_img_metas: List[dict],
            student_rpn: Optional[Dict[str, List[Tensor]]] = None,
            teacher_rpn: Optional[Dict[str, List[Tensor]]] = None) -> dict:
        """RPN and RoI consistency between student and teacher features of
        the same geometry; RoI heads run on the *teacher's* proposals.

        Args:
            student_feats, teacher_feats (tuple[Tensor]): FPN features.
            batch_img_metas (list[dict]): Metas of the teacher-view images.
            student_rpn, teacher_rpn (dict, optional): :meth:`rpn_outputs`
                of the student / teacher when already computed (the
                teacher's may carry its ``proposals``).

        Returns:
            dict: ``loss_rpn_distillation`` / ``loss_roi_distillation``,
            whichever is switched on.
        """
        losses = dict()
        if self.loss_rpn_distillation is None and \
                self.loss_roi_distillation is None:
            return losses
        t_rpn = teacher_rpn
        if t_rpn is None:
            with torch.no_grad():
                t_rpn = self.rpn_outputs(teacher_feats, teacher=True)
        if self.loss_rpn_distillation is not None:
            s_rpn = student_rpn or self.rpn_outputs(student_feats, False)
            losses['loss_rpn_distillation'] = self.loss_rpn_distillation(
                s_rpn, t_rpn)
        if self.loss_roi_distillation is not None:
            proposals = t_rpn.get('proposals') or self.teacher_proposals(
                t_rpn, batch_img_metas)
            rois = bbox2roi([p.bboxes for p in proposals])  # (R, 5)
            with torch.no_grad():
                t_roi = self.teacher_detector.roi_head._bbox_forward(
                    teacher_feats, rois)
            s_roi = self.detector.roi_head._bbox_forward(student_feats, rois)
            losses['loss_roi_distillation'] = self.loss_roi_distillation(
                s_roi, t_roi)
        return losses
