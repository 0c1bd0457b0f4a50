"""Dead ReLU units in a detector's RoI head.

The signature of a collapsed source training: when a large step pushes the pre-activations of a
shared FC layer below zero for every input, its ReLUs pass no gradient and
never come back; with (nearly) all of them dead the head gives every RoI
the same score, the all-background solution. mmengine and mmdet log the
losses and ``acc`` but nothing that tells this apart from slow training,
hence this small count.
"""
import glob
from typing import Dict, List, Tuple

import mmcv
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from torch import nn


def _module(model: nn.Module, path: str) -> nn.Module:
    """``model.<path>``, with an error that names the missing part."""
    obj = model
    for name in path.split('.'):
        if not hasattr(obj, name):
            raise ValueError(f'{type(obj).__name__} has no {name!r} (module '
                             f'path {path!r})')
        obj = getattr(obj, name)
    return obj


def load_images(pattern: str, max_images: int) -> List[str]:
    """The first ``max_images`` files (sorted) matching ``pattern``."""
    if max_images < 1:
        raise ValueError(f'max_images must be >= 1, got {max_images}')
    files = sorted(glob.glob(pattern, recursive=True))[:max_images]
    if not files:
        raise FileNotFoundError(f'no image matches {pattern!r}')
    return files


def _batch(model: nn.Module, file: str) -> Tuple[torch.Tensor, tuple]:
    """One image as the model's data preprocessor would give it:
    ``(1, 3, H', W')``, normalised and padded to its size divisor, and its
    own ``(H, W)``."""
    pre = model.data_preprocessor
    img = torch.from_numpy(mmcv.imread(file)).permute(2, 0, 1).float()
    if getattr(pre, '_channel_conversion', False):
        img = img[[2, 1, 0]]  # mmcv reads BGR
    img = (img - pre.mean.cpu().view(-1, 1, 1)) / pre.std.cpu().view(-1, 1, 1)
    div = getattr(pre, 'pad_size_divisor', 1)
    h, w = img.shape[-2:]
    img = F.pad(img, (0, -w % div, 0, -h % div))
    return img[None], (h, w)


@torch.no_grad()
def roi_head_units(model: nn.Module, files: List[str],
                   detector: str = 'detector',
                   module: str = 'detector.roi_head.bbox_head.shared_fcs'
                   ) -> Dict[str, Dict[str, float]]:
    """Count the live units of every ``nn.Linear`` under ``module`` while
    ``model.<detector>`` predicts on ``files``.

    A unit is alive when its pre-activation is > 0 for at least one RoI
    (mmdet's ConvFCBBoxHead applies a ReLU after each shared FC).

    Returns:
        dict: ``{layer name: {"units", "alive" (fraction), "mean_act"
        (mean ReLU output), "rois"}}``.
    """
    det = _module(model, detector)
    layers = {name: m for name, m in _module(model, module).named_modules()
              if isinstance(m, nn.Linear)}
    if not layers:
        raise ValueError(f'no nn.Linear under {module!r}')
    alive = {name: torch.zeros(m.out_features, dtype=torch.bool)
             for name, m in layers.items()}
    act_sum = dict.fromkeys(layers, 0.0)
    rois = dict.fromkeys(layers, 0)

    def hook(name):
        def record(_, __, out):  # out: (num_rois, out_features)
            alive[name] |= (out > 0).any(0).cpu()
            act_sum[name] += out.clamp(min=0).sum().item()
            rois[name] += out.shape[0]
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in layers.items()]
    try:
        model.eval()
        for file in files:
            x, shape = _batch(model, file)
            sample = DetDataSample(metainfo=dict(
                img_shape=shape, ori_shape=shape, scale_factor=(1., 1.),
                batch_input_shape=tuple(x.shape[-2:])))
            det.predict(x, [sample], rescale=False)
    finally:
        for h in handles:
            h.remove()
    return {
        name: dict(units=layers[name].out_features,
                   alive=alive[name].float().mean().item(),
                   mean_act=act_sum[name] / max(rois[name], 1) /
                   layers[name].out_features,
                   rois=rois[name])
        for name in layers
    }
