"""Feature-statistics alignment to the source domain (ActMAD-style).

Not in DARTH. ActMAD (Mirza et al., CVPR 2023) adapts a detector by
matching the mean and variance of its activations on the test images to
those the source model had on its training images; it needs no
augmentation, so it says nothing about which corruption to expect. Here
the statistics are channel-wise over the FPN outputs (the features every
head reads), taken over the valid (unpadded) positions of a batch.
mmdet / mmengine have no such loss; the running moments of BatchNorm do
not apply (the FPN has no norm layer, and the backbone's frozen
statistics are AdaBN's already).
"""
import math
from typing import List, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmdet.registry import MODELS
from .distillation import _check_weight


def valid_masks(feats: Sequence[Tensor],
                img_shapes: Sequence[Tuple[int, int]],
                pad_shape: Tuple[int, int]) -> List[Tensor]:
    """Per level, a (N, 1, H, W) bool mask of the positions that lie over
    the image (not its padding): ``ceil(img_h * H / pad_h)`` rows and as
    many columns, from the top left (mmdet pads bottom / right)."""
    pad_h, pad_w = pad_shape
    masks = []
    for feat in feats:
        n, _, h, w = feat.shape
        mask = feat.new_zeros((n, 1, h, w), dtype=torch.bool)
        for i, (img_h, img_w) in enumerate(img_shapes):
            mask[i, :, :math.ceil(img_h * h / pad_h),
                 :math.ceil(img_w * w / pad_w)] = True
        masks.append(mask)
    return masks


def channel_moments(feat: Tensor, mask: Tensor) -> Tuple[Tensor, Tensor]:
    """Mean and (population) variance per channel of a (N, C, H, W) map
    over the positions where ``mask`` (N, 1, H, W) is True."""
    weight = mask.to(feat.dtype)
    count = weight.sum().clamp(min=1)
    mean = (feat * weight).sum(dim=(0, 2, 3)) / count
    var = ((feat - mean[None, :, None, None]).pow(2) * weight).sum(
        dim=(0, 2, 3)) / count
    return mean, var


@MODELS.register_module()
class FeatureStatsAlignLoss(nn.Module):
    """Distance of a batch's channel-wise FPN feature moments to the source
    model's on source data (stored in the buffers ``source_mean`` /
    ``source_var``, (levels, channels), filled by :meth:`set_source` before
    adaptation and saved with the checkpoint)::

        loss = w * mean_{levels, channels} (|mu - mu_s| + |sigma - sigma_s|)
                                           / (sigma_s + eps)

    Dividing by the source standard deviation makes every channel count
    alike whatever its scale (ActMAD sums raw L1 distances).

    Args:
        num_levels (int): Levels of the neck's output.
        channels (int): Channels per level.
        loss_weight (float): ``w``. Defaults to 1.0.
        eps (float): Defaults to 1e-2.
    """

    def __init__(self, num_levels: int, channels: int,
                 loss_weight: float = 1.0, eps: float = 1e-2) -> None:
        super().__init__()
        self.loss_weight = _check_weight(loss_weight)
        self.eps = float(eps)
        self.register_buffer('source_mean', torch.zeros(num_levels, channels))
        self.register_buffer('source_var', torch.zeros(num_levels, channels))
        # 0 until set_source: a loss against zeros would be meaningless
        self.register_buffer('source_frames',
                             torch.zeros((), dtype=torch.long))

    def set_source(self, mean: Tensor, var: Tensor, frames: int) -> None:
        if mean.shape != self.source_mean.shape or \
                var.shape != self.source_var.shape:
            raise ValueError(
                f'source statistics of shape {tuple(mean.shape)} / '
                f'{tuple(var.shape)} for a loss built for '
                f'{tuple(self.source_mean.shape)} (num_levels, channels): '
                'set loss_feat_align.num_levels / channels to the neck')
        self.source_mean.copy_(mean)
        self.source_var.copy_(var)
        self.source_frames.fill_(int(frames))

    def forward(self, feats: Sequence[Tensor],
                masks: Sequence[Tensor]) -> Tensor:
        """Args:
            feats (Sequence[Tensor]): Per level (N, C, H, W) features.
            masks (Sequence[Tensor]): :func:`valid_masks` of them.
        """
        if int(self.source_frames) == 0:
            raise RuntimeError(
                'FeatureStatsAlignLoss has no source statistics: set '
                'train_cfg.source_stats_dataloader (AdaptationTrainLoop '
                'computes them before the first step)')
        if len(feats) != len(self.source_mean):
            raise ValueError(f'{len(feats)} feature levels for a loss built '
                             f'for {len(self.source_mean)}')
        src_std = self.source_var.sqrt()
        total = feats[0].new_zeros(())
        for level, (feat, mask) in enumerate(zip(feats, masks)):
            mean, var = channel_moments(feat, mask)
            std = (var + 1e-6).sqrt()
            scale = src_std[level] + self.eps
            total = total + ((mean - self.source_mean[level]).abs() +
                             (std - src_std[level]).abs()).div(scale).mean()
        return self.loss_weight * total / len(feats)
