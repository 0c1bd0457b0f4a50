"""QDTrack whose RoI classifier trains on the true (multi-class) labels."""
from typing import List, Tuple

import torch
from torch import Tensor

from mmdet.models.mot import QDTrack
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackSampleList
from mmdet.utils import InstanceList


def class_agnostic_sample(sample: DetDataSample) -> DetDataSample:
    """A shallow copy of ``sample`` whose gt labels are all 0 (for the RPN).

    The original sample is not modified: mmdet 3.3's ``QDTrack.loss`` zeroes
    the key-frame labels in place, so its RoI head trains on class 0 only
    (mmdet issue #11409).
    """
    rpn_sample = DetDataSample(metainfo=sample.metainfo)
    gt = sample.gt_instances.clone()
    gt.labels = torch.zeros_like(gt.labels)
    rpn_sample.gt_instances = gt
    if 'ignored_instances' in sample:
        rpn_sample.ignored_instances = sample.ignored_instances
    return rpn_sample


@MODELS.register_module()
class MultiClassQDTrack(QDTrack):
    """mmdet's :class:`QDTrack` with a correct multi-class loss.

    Same arguments, predictions and checkpoints as mmdet's QDTrack. The loss
    is a short sequence of named steps that subclasses (DARTH) reuse:
    :meth:`split_key_ref`, :meth:`rpn_loss_and_predict`, the RoI head loss
    on the *true* labels, and the quasi-dense track loss.
    """

    def loss(self, inputs: Tensor, data_samples: TrackSampleList,
             **kwargs) -> dict:
        """Losses of one batch of (key, reference) frame pairs.

        Args:
            inputs (Tensor): (N, 2, C, H, W) key and reference images.
            data_samples (list[TrackDataSample]): One per video clip, with
                ``key_frames_inds`` / ``ref_frames_inds`` and gt instances.

        Returns:
            dict: RPN (``loss_rpn_*``), RoI (``loss_cls``, ``loss_bbox``,
            ``acc``) and track (``loss_track``, ``loss_track_aux``) losses.
        """
        key_imgs, ref_imgs, key_samples, ref_samples = self.split_key_ref(
            inputs, data_samples)
        x = self.detector.extract_feat(key_imgs)
        ref_x = self.detector.extract_feat(ref_imgs)
        losses, rpn_results, ref_rpn_results = self.rpn_loss_and_predict(
            x, ref_x, key_samples, ref_samples, **kwargs)
        losses.update(
            self.detector.roi_head.loss(x, rpn_results, key_samples,
                                        **kwargs))
        losses.update(
            self.track_head.loss(x, ref_x, rpn_results, ref_rpn_results,
                                 data_samples, **kwargs))
        return losses

    @staticmethod
    def split_key_ref(
        inputs: Tensor, data_samples: TrackSampleList
    ) -> Tuple[Tensor, Tensor, List[DetDataSample], List[DetDataSample]]:
        """(N, 2, C, H, W) clips -> key and reference images and samples."""
        if inputs.dim() != 5 or inputs.size(1) != 2:
            raise ValueError('QDTrack training needs inputs of shape '
                             '(N, 2, C, H, W): one key and one reference '
                             f'frame per clip, got {tuple(inputs.shape)}')
        key_inds = [s.key_frames_inds[0] for s in data_samples]
        ref_inds = [s.ref_frames_inds[0] for s in data_samples]
        batch = torch.arange(len(inputs))
        key_imgs = inputs[batch, torch.tensor(key_inds)].contiguous()
        ref_imgs = inputs[batch, torch.tensor(ref_inds)].contiguous()
        key_samples = [s.get_key_frames()[0] for s in data_samples]
        ref_samples = [s.get_ref_frames()[0] for s in data_samples]
        return key_imgs, ref_imgs, key_samples, ref_samples

    def rpn_loss_and_predict(
            self, x: Tuple[Tensor], ref_x: Tuple[Tensor],
            key_samples: List[DetDataSample],
            ref_samples: List[DetDataSample],
            **kwargs) -> Tuple[dict, InstanceList, InstanceList]:
        """Class-agnostic RPN loss on the key frames, proposals on both.

        Returns:
            tuple: ``rpn_*`` losses, key proposals, reference proposals.
        """
        if not self.detector.with_rpn:
            raise ValueError('QDTrack needs a detector with an RPN head')
        proposal_cfg = self.detector.train_cfg.get('rpn_proposal',
                                                   self.detector.test_cfg.rpn)
        rpn_samples = [class_agnostic_sample(s) for s in key_samples]
        rpn_losses, rpn_results = self.detector.rpn_head.loss_and_predict(
            x, rpn_samples, proposal_cfg=proposal_cfg, **kwargs)
        ref_rpn_results = self.detector.rpn_head.predict(
            ref_x, ref_samples, **kwargs)
        # avoid name clashes with the RoI head's losses (as mmdet does)
        for key in list(rpn_losses):
            if 'loss' in key and 'rpn' not in key:
                rpn_losses[f'rpn_{key}'] = rpn_losses.pop(key)
        return rpn_losses, rpn_results, ref_rpn_results
