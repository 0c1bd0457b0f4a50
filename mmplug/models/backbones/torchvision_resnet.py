"""torchvision ResNet as an mmdet backbone (DETR / TrackFormer style)."""
from typing import List, Optional, Sequence, Tuple

import torchvision
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.registry import MODELS

_ARCHS = {
    18: ('resnet18', (64, 128, 256, 512)),
    34: ('resnet34', (64, 128, 256, 512)),
    50: ('resnet50', (256, 512, 1024, 2048)),
    101: ('resnet101', (256, 512, 1024, 2048)),
    152: ('resnet152', (256, 512, 1024, 2048)),
}


@MODELS.register_module()
class TorchvisionResNet(BaseModule):
    """ResNet built from ``torchvision.models`` with a configurable norm layer.

    The stem and the four stages keep torchvision's module names (``conv1``,
    ``bn1``, ``layer1`` .. ``layer4``), so a plain torchvision state dict, as
    saved by ``torch.save(torchvision.models.resnet50().state_dict(), PATH)``,
    loads through ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``
    (its ``fc.*`` keys are reported as unused and ignored).

    Output of stage i in ``out_indices``: ``(N, out_channels[i], H / s_i,
    W / s_i)`` with strides ``s = (4, 8, 16, 32)``; ``(4, 8, 16, 16)`` when
    ``dilation=True``. ``out_channels`` is ``(64, 128, 256, 512)`` for depth
    18 / 34 and ``(256, 512, 1024, 2048)`` for depth 50 / 101 / 152.

    Args:
        depth (int): 18, 34, 50, 101 or 152. Defaults to 50.
        out_indices (Sequence[int]): Stages to output, from 0 (layer1) to 3
            (layer4). Defaults to (0, 1, 2, 3).
        frozen_stages (int): -1 freezes nothing, 0 the stem, i >= 1 the stem
            and layer1..layer_i (as in mmdet's ResNet). Defaults to 1.
        dilation (bool): Replace the stride of layer4 by dilation 2.
            Defaults to False.
        norm_cfg (dict): Norm layer config for mmcv's ``build_norm_layer``.
            Defaults to ``dict(type='FrozenBN')``.
        norm_eval (bool): Keep BatchNorm layers in eval mode during training
            (no effect on FrozenBN). Defaults to False.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained',
            checkpoint=PATH)``. Defaults to None.
    """

    def __init__(self,
                 depth: int = 50,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = 1,
                 dilation: bool = False,
                 norm_cfg: Optional[dict] = None,
                 norm_eval: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        norm_cfg = dict(type='FrozenBN') if norm_cfg is None else norm_cfg
        self._check_args(depth, out_indices, frozen_stages, norm_cfg)
        arch, channels = _ARCHS[depth]
        net = getattr(torchvision.models, arch)(
            weights=None,
            norm_layer=lambda c: build_norm_layer(norm_cfg, c)[1],
            replace_stride_with_dilation=[False, False, bool(dilation)])
        self.conv1, self.bn1 = net.conv1, net.bn1
        self.relu, self.maxpool = net.relu, net.maxpool
        self.layer1, self.layer2 = net.layer1, net.layer2
        self.layer3, self.layer4 = net.layer3, net.layer4
        self.depth = depth
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        strides = (4, 8, 16, 16 if dilation else 32)
        self.strides = tuple(strides[i] for i in self.out_indices)
        self._freeze_stages()

    @staticmethod
    def _check_args(depth, out_indices, frozen_stages, norm_cfg) -> None:
        if depth not in _ARCHS:
            raise ValueError(f'depth must be one of {sorted(_ARCHS)}, '
                             f'got {depth!r}')
        indices = list(out_indices)
        if not indices or any(i not in (0, 1, 2, 3) for i in indices) or \
                len(set(indices)) != len(indices):
            raise ValueError('out_indices must be distinct values in '
                             f'(0, 1, 2, 3), got {out_indices!r}')
        if frozen_stages not in (-1, 0, 1, 2, 3, 4):
            raise ValueError('frozen_stages must be in -1..4, '
                             f'got {frozen_stages!r}')
        if not isinstance(norm_cfg, dict) or 'type' not in norm_cfg:
            raise ValueError('norm_cfg must be a dict with a "type" key, '
                             f'got {norm_cfg!r}')

    def _stages(self) -> List[nn.Module]:
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def _freeze_stages(self) -> None:
        frozen: List[nn.Module] = []
        if self.frozen_stages >= 0:
            frozen += [self.conv1, self.bn1]
        frozen += self._stages()[:max(self.frozen_stages, 0)]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) -> one (N, C_i, H / s_i, W / s_i) map per out index."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for i, stage in enumerate(self._stages()):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
            if i >= max(self.out_indices):
                break
        return tuple(outs)

    def train(self, mode: bool = True) -> 'TorchvisionResNet':
        """Set train mode, keeping frozen stages (and BN if norm_eval) in
        eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
