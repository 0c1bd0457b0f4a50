"""DARTH: holistic test-time adaptation of QDTrack (Segu et al., ICCV 2023)."""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample, TrackSampleList
from mmdet.utils import InstanceList
from ..utils.box_projection import project_instances
from .kd_qdtrack import KDQDTrack

VIEWS = ('pseudo', 'teacher', 'student', 'contrastive')
View = Tuple[Tensor, List[DetDataSample]]


@MODELS.register_module()
class DARTHQDTrack(KDQDTrack):
    """Unsupervised adaptation of a source QDTrack to a target domain.

    Each training sample is one unlabelled target frame in four views made by
    the data pipeline (:class:`MultiViewPipeline`): pseudo-label view P,
    teacher view T = geometric(P), student view S = photometric(T) and
    contrastive view C = geometric'(P) + photometric'. Every view carries
    ``view`` (its name) and ``view_homography`` (P -> view, 3 x 3) metainfo.

    The loss, step by step:

    1. teacher on P (no grad): detections with score > ``conf_thr`` become
       pseudo boxes with ids 1..n;
    2. detection consistency: teacher on T vs. student on S, RPN and RoI
       distillation (:class:`KDQDTrack`);
    3. patch contrastive loss (PCL): QDTrack's quasi-dense track loss with S
       as key and C as reference frame, pseudo boxes projected from P
       (:func:`project_instances`), instances matched by pseudo id.

    No ground truth is read. Frames without pseudo boxes in S or C only skip
    their PCL term; when no frame has any, the track loss is an exact zero
    that still touches the track head (no unused parameters under DDP).

    Args:
        conf_thr (float): Teacher score threshold for pseudo boxes.
            Defaults to 0.7.
        with_pcl (bool): Use the patch contrastive loss. Defaults to True.
        min_visible (float): Fraction of a projected pseudo box that must lie
            inside a view to keep it there. Defaults to 0.3.
        pcl_proposal_cfg (dict, optional): Changes to the student's test-time
            RPN config for the PCL key / reference proposals (e.g. fewer
            for online steps). Defaults to None: the test RPN config
            itself, as DARTH (``simple_test_rpn``).
        **kwargs: :class:`KDQDTrack` arguments.
    """

    def __init__(self,
                 *args,
                 conf_thr: float = 0.7,
                 with_pcl: bool = True,
                 min_visible: float = 0.3,
                 pcl_proposal_cfg: Optional[dict] = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if not 0 <= conf_thr <= 1:
            raise ValueError(f'conf_thr must be in [0, 1], got {conf_thr}')
        self.conf_thr = conf_thr
        self.with_pcl = with_pcl
        self.min_visible = min_visible
        self.pcl_proposal_cfg = pcl_proposal_cfg

    def loss(self, inputs: Tensor, data_samples: TrackSampleList,
             **kwargs) -> dict:
        """Adaptation losses of a batch of N target frames.

        Args:
            inputs (Tensor): (N, 4, C, H, W), the four views of each frame.
            data_samples (list[TrackDataSample]): Per frame, one
                DetDataSample per view with ``view`` / ``view_homography``.

        Returns:
            dict: ``loss_rpn_distillation``, ``loss_roi_distillation``,
            ``loss_track``, ``loss_track_aux`` (those switched on) and
            ``num_pseudo`` (mean pseudo boxes per frame, for logging).
        """
        views = self.split_views(inputs, data_samples)
        pseudo, teacher_feats, teacher_rpn = self.teacher_forward(views)
        # the student's S views and the C views that have pseudo boxes for
        # the PCL, in one batched pass
        s_imgs, n = views['student'][0], len(inputs)
        if self.with_pcl:
            pairs = self.pcl_pairs(views, pseudo)
            valid = [i for i, p in enumerate(pairs) if p is not None]
            s_imgs = torch.cat([s_imgs, views['contrastive'][0][valid]])
        feats = self.detector.extract_feat(s_imgs)
        rpn = self.rpn_outputs(feats, teacher=False)
        student_feats = tuple(f[:n] for f in feats)
        student_rpn = {k: [v[:n] for v in vs] for k, vs in rpn.items()}
        losses = self.distillation_losses(
            student_feats, teacher_feats,
            [s.metainfo for s in views['teacher'][1]], student_rpn,
            teacher_rpn)
        if self.with_pcl:
            ref_feats = tuple(f[n:] for f in feats)
            ref_rpn = {k: [v[n:].detach() for v in vs]
                       for k, vs in rpn.items()}
            losses.update(
                self.pcl_loss(pairs, (student_feats, student_rpn),
                              (ref_feats, ref_rpn)))
        losses['num_pseudo'] = inputs.new_tensor(
            sum(len(p) for p in pseudo) / max(len(pseudo), 1))
        return losses

    @staticmethod
    def split_views(inputs: Tensor,
                    data_samples: TrackSampleList) -> Dict[str, View]:
        """(N, V, C, H, W) -> {view name: ((N, C, h, w), [sample] * N)},
        each view cropped to its samples' ``batch_input_shape``."""
        if inputs.dim() != 5:
            raise ValueError('DARTH needs inputs of shape (N, V, C, H, W), '
                             f'got {tuple(inputs.shape)}')
        names = [s.metainfo.get('view') for s in
                 data_samples[0].video_data_samples]
        missing = [v for v in VIEWS if v not in names]
        if missing:
            raise ValueError(f'views {missing} missing from the batch (got '
                             f'{names}); use MultiViewPipeline in the '
                             'train pipeline')
        views = {}
        for name in VIEWS:
            idx = names.index(name)
            samples = [s.video_data_samples[idx] for s in data_samples]
            # a view padded apart (MultiViewDataPreprocessor): its own shape
            h, w = samples[0].metainfo.get('batch_input_shape',
                                           inputs.shape[-2:])
            views[name] = (inputs[:, idx, :, :h, :w].contiguous(), samples)
        return views

    @torch.no_grad()
    def teacher_forward(
        self, views: Dict[str, View]
    ) -> Tuple[InstanceList, Tuple[Tensor], Optional[dict]]:
        """Pseudo boxes on P and teacher features of T, in one batched pass.

        Returns:
            tuple: per frame InstanceData (``bboxes`` in P coordinates,
            ``labels``, ``scores``, ``instances_ids`` 1..n), the teacher's
            FPN features of the T view, and its raw RPN outputs (and
            ``proposals``) on T when they were computed here (T = P), else
            None.
        """
        p_imgs, p_samples = views['pseudo']
        t_imgs = views['teacher'][0]
        n = len(p_imgs)
        detector = self.teacher_detector
        if torch.equal(p_imgs, t_imgs):
            # T = P (e.g. online views): one teacher pass, whose proposals
            # serve both the pseudo boxes and the RoI distillation
            t_feats = detector.extract_feat(t_imgs)
            t_rpn = self.rpn_outputs(t_feats, teacher=True)
            t_rpn['proposals'] = self.teacher_proposals(
                t_rpn, [s.metainfo for s in p_samples])
            dets = detector.roi_head.predict(
                t_feats, [p.clone() for p in t_rpn['proposals']], p_samples,
                rescale=False)
            return [self._pseudo_boxes(d) for d in dets], t_feats, t_rpn
        if p_imgs.shape == t_imgs.shape:
            feats = detector.extract_feat(torch.cat([p_imgs, t_imgs]))
            p_feats = tuple(f[:n] for f in feats)
            t_feats = tuple(f[n:] for f in feats)
        else:
            p_feats = detector.extract_feat(p_imgs)
            t_feats = detector.extract_feat(t_imgs)
        proposals = detector.rpn_head.predict(p_feats, p_samples,
                                              rescale=False)
        dets = detector.roi_head.predict(p_feats, proposals, p_samples,
                                         rescale=False)
        return [self._pseudo_boxes(d) for d in dets], t_feats, None

    def _pseudo_boxes(self, det: InstanceData) -> InstanceData:
        """Detections above ``conf_thr``, with pseudo ids 1..n."""
        det = det[det.scores > self.conf_thr]
        det.instances_ids = torch.arange(
            1, len(det) + 1, device=det.bboxes.device)
        return det

    def pcl_pairs(self, views: Dict[str, View], pseudo: InstanceList
                  ) -> List[Optional[TrackDataSample]]:
        """Per frame, the (S, C) pair holding the pseudo boxes projected into
        both views, or None when either view has none."""
        pairs = []
        for p, s, c in zip(pseudo, views['student'][1],
                           views['contrastive'][1]):
            key, ref = self._pseudo_sample(p, s), self._pseudo_sample(p, c)
            pairs.append(self._pair(key, ref) if len(key.gt_instances)
                         and len(ref.gt_instances) else None)
        return pairs

    def pcl_loss(self, pairs: List[Optional[TrackDataSample]],
                 key: Tuple[Tuple[Tensor], Dict[str, List[Tensor]]],
                 ref: Tuple[Tuple[Tensor], Dict[str, List[Tensor]]]) -> dict:
        """Patch contrastive loss: QDTrack's track loss between the S (key)
        and C (reference) views of the frames with pseudo boxes in both.

        Args:
            pairs (list): :meth:`pcl_pairs` of the N frames.
            key: (FPN features, raw RPN outputs) of the student on the N S
                views.
            ref: The same on the C views of the frames with a pair, in order.
        """
        valid = [i for i, p in enumerate(pairs) if p is not None]
        if not valid:
            zero = sum(p.sum() for p in self.track_head.parameters()) * 0.
            return dict(loss_track=zero, loss_track_aux=zero)
        key_feats, key_rpn = key
        idx = torch.tensor(valid, device=key_feats[0].device)
        pairs = [pairs[i] for i in valid]
        key_feats = tuple(f[idx] for f in key_feats)
        key_props = self._proposals(
            [c[idx] for c in key_rpn['cls_scores']],
            [b[idx] for b in key_rpn['bbox_preds']],
            [p.video_data_samples[0] for p in pairs])
        ref_props = self._proposals(ref[1]['cls_scores'],
                                    ref[1]['bbox_preds'],
                                    [p.video_data_samples[1] for p in pairs])
        for props in key_props:  # the track head samples key `priors`
            props.priors = props.pop('bboxes')
        return self.track_head.loss(key_feats, ref[0], key_props, ref_props,
                                    pairs)

    def _pseudo_sample(self, pseudo: InstanceData,
                       view_sample: DetDataSample) -> DetDataSample:
        """A DetDataSample of ``view_sample``'s geometry holding the pseudo
        boxes projected into that view."""
        homography = view_sample.metainfo['view_homography']
        homography = torch.as_tensor(homography, dtype=torch.float32)
        sample = DetDataSample(metainfo=view_sample.metainfo)
        boxes = InstanceData(bboxes=pseudo.bboxes, labels=pseudo.labels,
                             instances_ids=pseudo.instances_ids)
        sample.gt_instances = project_instances(
            boxes, homography, view_sample.metainfo['img_shape'],
            self.min_visible)
        return sample

    def _proposals(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                   samples: List[DetDataSample]) -> InstanceList:
        # the test-time RPN config, as DARTH (simple_test_rpn) and KDQDTrack
        cfg = ConfigDict({**self.detector.test_cfg.rpn,
                          **(self.pcl_proposal_cfg or {})})
        with torch.no_grad():
            return self.detector.rpn_head.predict_by_feat(
                [c.detach() for c in cls_scores],
                [b.detach() for b in bbox_preds],
                batch_img_metas=[s.metainfo for s in samples], cfg=cfg,
                rescale=False)

    @staticmethod
    def _pair(key: DetDataSample, ref: DetDataSample) -> TrackDataSample:
        pair = TrackDataSample(metainfo=dict(key_frames_inds=[0],
                                             ref_frames_inds=[1]))
        pair.video_data_samples = [key, ref]
        return pair
