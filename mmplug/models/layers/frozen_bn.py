"""BatchNorm frozen into a fixed affine transform (torchvision, DETR)."""
import mmdet.models.layers  # noqa: F401  (mmdet's 'FrozenBN' first, see below)
import torch
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import nn
from torchvision.ops.misc import FrozenBatchNorm2d as _TVFrozenBatchNorm2d

from mmdet.registry import MODELS


class FrozenBatchNorm2d(_TVFrozenBatchNorm2d):
    """BatchNorm2d whose statistics and affine parameters are fixed.

    The forward pass is torchvision's (``torchvision.ops.misc``), so outputs
    match a torchvision model built with ``norm_layer=FrozenBatchNorm2d`` bit
    for bit. ``weight``, ``bias``, ``running_mean`` and ``running_var`` are
    buffers: the layer has no parameters, and ``train()`` changes nothing.
    Loading a ``BatchNorm2d`` state dict works; its ``num_batches_tracked``
    is dropped.

    Args:
        num_features (int): Number of channels C of the (N, C, H, W) input.
        eps (float): Added to the variance for numerical stability.
            Defaults to 1e-5.
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        if not isinstance(num_features, int) or num_features <= 0:
            raise ValueError('num_features must be a positive int, '
                             f'got {num_features!r}')
        if not eps > 0:
            raise ValueError(f'eps must be > 0, got {eps!r}')
        super().__init__(num_features, eps=eps)
        self.num_features = num_features

    @classmethod
    def convert_frozen_batchnorm(cls, module: nn.Module) -> nn.Module:
        """Replace every BatchNorm2d / SyncBatchNorm in ``module`` by FrozenBN.

        The statistics and affine parameters are copied. ``module`` itself is
        returned converted when it is a BatchNorm layer, otherwise it is
        converted in place and returned.

        Args:
            module (nn.Module): Any module.

        Returns:
            nn.Module: The converted module.
        """
        if isinstance(module, (nn.BatchNorm2d, nn.SyncBatchNorm)):
            frozen = cls(module.num_features, eps=module.eps)
            with torch.no_grad():
                if module.affine:
                    frozen.weight.copy_(module.weight)
                    frozen.bias.copy_(module.bias)
                if module.track_running_stats:
                    frozen.running_mean.copy_(module.running_mean)
                    frozen.running_var.copy_(module.running_var)
            return frozen
        for name, child in module.named_children():
            new_child = cls.convert_frozen_batchnorm(child)
            if new_child is not child:
                module.add_module(name, new_child)
        return module


# Registered as 'FrozenBN' where mmcv's ``build_norm_layer`` looks: mmengine's
# root MODELS (no default scope) and mmdet's MODELS (default_scope='mmdet').
# mmdet 3.3 already has a detectron2-style 'FrozenBN' in its registry; it
# initialises running_var to 1 - eps, computes differently from torchvision
# and rejects BatchNorm state dicts in strict loading (num_batches_tracked).
# This class keeps its arguments (num_features, eps) and replaces it
# deliberately (force=True), so mmdet's ResNet, ConvModule and FPN get it.
MMENGINE_MODELS.register_module('FrozenBN', module=FrozenBatchNorm2d)
MODELS.register_module('FrozenBN', module=FrozenBatchNorm2d, force=True)


def convert_frozen_batchnorm(module: nn.Module) -> nn.Module:
    """Functional alias of
    :meth:`FrozenBatchNorm2d.convert_frozen_batchnorm`."""
    return FrozenBatchNorm2d.convert_frozen_batchnorm(module)
