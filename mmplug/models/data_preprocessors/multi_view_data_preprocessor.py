"""Normalise, then pad each view's batch on its own (as DARTH pads)."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model.utils import stack_batch
from torch import Tensor

from mmdet.models.data_preprocessors import TrackDataPreprocessor
from mmdet.registry import MODELS

Shape = Tuple[int, int]


@MODELS.register_module()
class MultiViewDataPreprocessor(TrackDataPreprocessor):
    """``TrackDataPreprocessor`` that also takes the views of
    :class:`PackMultiViewInputs` (``inputs`` a dict ``{view: [N images]}``,
    the views of a frame of different sizes).

    Each view's images are normalised, then padded bottom / right with
    ``pad_value`` (0: the mean colour) to the largest image of the view's
    batch, rounded up to ``pad_size_divisor`` -- as mmdet's preprocessor
    pads a batch, and as DARTH pads its views (``Normalize``, ``Pad``
    to /32 per image, collate to the batch maximum). The views of a
    ``view_groups`` entry share one shape (DARTH pads T to S's shape and
    collates S with C: their features are compared or batched together);
    the pseudo-label view P gets its own.

    The output keeps the ``(N, V, C, H, W)`` layout of tracking inputs: the
    views are stacked padded to the largest of their shapes, and each
    view's own padded shape is its samples' ``batch_input_shape``, to which
    the model crops the view (:meth:`DARTHQDTrack.split_views`). Each
    sample's ``pad_shape`` is its own image padded to ``pad_size_divisor``
    (mmdet's rule, read by the RPN's anchor valid flags).

    Tensor inputs (tracking, ``PackTrackInputs``) go to
    ``TrackDataPreprocessor`` unchanged.

    Args:
        view_groups (Sequence[Sequence[str]]): Views padded to one shape.
            Defaults to DARTH's ``(('teacher', 'student', 'contrastive'),)``.
        **kwargs: ``TrackDataPreprocessor`` arguments (``mean``, ``std``,
            ``bgr_to_rgb``, ``pad_size_divisor``, ``pad_value``, ...).
    """

    def __init__(self,
                 view_groups: Sequence[Sequence[str]] = (
                     ('teacher', 'student', 'contrastive'), ),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        groups = [tuple(g) for g in view_groups]
        names = [n for g in groups for n in g]
        if any(isinstance(g, str) for g in view_groups) or len(names) != len(
                set(names)):
            raise ValueError('view_groups must be a list of lists of view '
                             f'names, each view in one group, got '
                             f'{view_groups!r}')
        self.view_groups = groups

    def forward(self, data: dict, training: bool = False) -> dict:
        if not isinstance(data['inputs'], dict):
            return super().forward(data, training)
        data = self.cast_data(data)
        views: Dict[str, List[Tensor]] = data['inputs']
        samples = data['data_samples']
        names = list(views)
        _check_views(names, samples)
        batches = {name: self._normalised_batch(imgs)
                   for name, imgs in views.items()}
        shapes = self._group_shapes(
            {n: tuple(b.shape[-2:]) for n, b in batches.items()})
        common = (max(h for h, _ in shapes.values()),
                  max(w for _, w in shapes.values()))
        # (N, V, C, H, W): every view padded on to the largest view's shape
        # to stack; each stays valid in its own (group's) batch_input_shape
        inputs = torch.stack(
            [_pad_to(batches[n], common, self.pad_value) for n in names],
            dim=1)
        divisor = max(self.pad_size_divisor, 1)
        for sample in samples:
            for name, det in zip(names, sample.video_data_samples):
                h, w = det.metainfo['img_shape'][:2]
                det.set_metainfo(dict(
                    batch_input_shape=shapes[name],
                    pad_shape=(math.ceil(h / divisor) * divisor,
                               math.ceil(w / divisor) * divisor)))
        return dict(inputs=inputs.contiguous(), data_samples=samples)

    def _normalised_batch(self, imgs: List[Tensor]) -> Tensor:
        """N (C, H, W) images -> (N, C, H', W'), normalised, then padded to
        the batch maximum rounded to ``pad_size_divisor``."""
        if self._channel_conversion:
            imgs = [img[[2, 1, 0], ...] if img.size(0) == 3 else img
                    for img in imgs]
        imgs = [img.float() for img in imgs]
        if self._enable_normalize:
            mean, std = self.mean.view(-1, 1, 1), self.std.view(-1, 1, 1)
            imgs = [(img - mean) / std for img in imgs]
        return stack_batch(imgs, self.pad_size_divisor, self.pad_value)

    def _group_shapes(self, shapes: Dict[str, Shape]) -> Dict[str, Shape]:
        """Each view's padded shape: the largest of its group."""
        out = dict(shapes)
        for group in self.view_groups:
            members = [n for n in group if n in shapes]
            if not members:
                continue
            shape = (max(shapes[n][0] for n in members),
                     max(shapes[n][1] for n in members))
            out.update({n: shape for n in members})
        return out


def _check_views(names: List[str], samples: Optional[list]) -> None:
    """The data samples must hold the views in the order of ``inputs``."""
    if not samples:
        raise ValueError('MultiViewDataPreprocessor needs the data samples '
                         '(their img_shape) of the views')
    for sample in samples:
        views = [s.metainfo.get('view') for s in sample.video_data_samples]
        if views != names:
            raise ValueError(f'data samples of views {views} for inputs of '
                             f'views {names} (pack with PackMultiViewInputs)')


def _pad_to(x: Tensor, shape: Shape, value: float) -> Tensor:
    """Pad the last two dims of ``x`` bottom / right to ``shape``."""
    h, w = x.shape[-2:]
    if (h, w) == tuple(shape):
        return x
    return F.pad(x, (0, shape[1] - w, 0, shape[0] - h), value=value)
