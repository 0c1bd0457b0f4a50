"""Re-estimation of BatchNorm statistics on new data (AdaBN), over each
image's own pixels only, combined across processes.

The valid-region rule (:func:`valid_extent`): a batch is padded bottom /
right to ``pad_shape``; a feature map of ``H`` rows computed from it has
``H / pad_h`` rows per input row (its stride is ``pad_h / H``), and its row
``j`` lies over the image of height ``h`` when its sampling point
``j * stride`` does, i.e. for the first ``ceil(h * H / pad_h)`` rows (the
same rule as mmdet's anchor valid flags, ``ceil(h / stride)``); columns
alike. Every norm layer's statistics are taken over those positions of each
image of the batch and over nothing else (padded positions are still
normalised, as at test time, and reach valid ones through convolutions,
as they do at test time).
"""
import contextlib
import math
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import all_gather
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers.frozen_bn import FrozenBatchNorm2d

NormLayer = Tuple[nn.Module, str, nn.Module]  # (parent, attribute, layer)
Shape = Tuple[int, int]


def norm_layers(model: nn.Module, modules: Sequence[str]) -> List[NormLayer]:
    """BatchNorm and FrozenBN layers inside the named sub-modules.

    Raises:
        ValueError: When ``model`` has no module of one of the names.
    """
    found = []
    for name in modules:
        try:
            root = model.get_submodule(name)
        except AttributeError as exc:
            raise ValueError(f'the model has no module {name!r}') from exc
        for parent in root.modules():
            for attr, child in parent.named_children():
                if isinstance(child, (_BatchNorm, FrozenBatchNorm2d)):
                    found.append((parent, attr, child))
    return found


def valid_extent(size: int, feat: int, pad: int) -> int:
    """Rows (columns) of a ``feat``-row feature map of a batch padded to
    ``pad`` rows that lie over an image of ``size`` rows (module doc)."""
    return min(feat, math.ceil(size * feat / pad))


class ImageExtents:
    """The image sizes of the batch running through the model, from which
    each norm layer gets its valid region (module doc).

    ``img_shapes`` None (the default) means every position is valid.
    """

    def __init__(self) -> None:
        self.img_shapes: Optional[List[Shape]] = None
        self.pad_shape: Optional[Shape] = None

    def set(self, img_shapes: Optional[Sequence[Sequence[int]]],
            pad_shape: Optional[Sequence[int]] = None) -> None:
        """Set the (h, w) of each image and the padded (H, W) of the batch.

        Raises:
            ValueError: When an image is larger than the padded batch.
        """
        if img_shapes is None:
            self.img_shapes = self.pad_shape = None
            return
        shapes = [(int(s[0]), int(s[1])) for s in img_shapes]
        pad = (int(pad_shape[0]), int(pad_shape[1]))
        for shape in shapes:
            if shape[0] > pad[0] or shape[1] > pad[1] or min(shape) < 1:
                raise ValueError(f'img_shape {shape} does not fit the padded '
                                 f'batch shape {pad}')
        self.img_shapes, self.pad_shape = shapes, pad

    def extents(self, x: Tensor) -> Optional[List[Shape]]:
        """Per image, the (rows, columns) of ``x`` (N, C, H, W) over the
        image; None when every position of every image is."""
        if self.img_shapes is None:
            return None
        n, _, h, w = x.shape
        if n != len(self.img_shapes):
            raise ValueError(f'a batch of {n} feature maps for '
                             f'{len(self.img_shapes)} image shapes')
        extents = [(valid_extent(ih, h, self.pad_shape[0]),
                    valid_extent(iw, w, self.pad_shape[1]))
                   for ih, iw in self.img_shapes]
        return None if all(e == (h, w) for e in extents) else extents


def masked_moments(x: Tensor, extents: Optional[List[Shape]],
                   two_pass: bool = True) -> Tuple[Tensor, Tensor, int]:
    """Per-channel mean and biased variance of (N, C, H, W) ``x`` over the
    top-left ``extents`` (rows, columns) of each image (all positions when
    None), and the number of positions.

    ``two_pass=False`` takes the variance as E[x^2] - E[x]^2 in one pass
    (faster on CPU, less exact when the mean is large against the spread).
    """
    if extents is None:
        regions = [x]
        count = x.numel() // x.size(1)
    else:
        regions = [x[i:i + 1, :, :r, :c] for i, (r, c) in enumerate(extents)]
        count = sum(r * c for r, c in extents)
    # sums over the spatial dims first (contiguous): ~10x faster on CPU
    # than reducing over (0, 2, 3) at once
    mean = sum(t.sum(dim=(2, 3)).sum(dim=0) for t in regions) / count
    if two_pass:
        centred = [(t - mean[None, :, None, None]).square() for t in regions]
        var = sum(t.sum(dim=(2, 3)).sum(dim=0) for t in centred) / count
    else:
        var = (sum((t * t).sum(dim=(2, 3)).sum(dim=0) for t in regions) /
               count - mean * mean).clamp_(min=0)
    return mean, var, count


class _MaskedBatchStats(nn.Module):
    """A norm layer during :func:`estimate_bn_stats`: normalises with the
    statistics of the batch's valid positions (BatchNorm's training mode,
    padding excluded), over the batches of every process at this step (as
    ``SyncBatchNorm``), and sums them (float64) for the final average."""

    def __init__(self, layer: nn.Module, extents: ImageExtents) -> None:
        super().__init__()
        self.extents = extents
        self.eps = layer.eps
        c = layer.num_features
        ones = torch.ones(c, device=layer.running_mean.device)
        weight = getattr(layer, 'weight', None)
        bias = getattr(layer, 'bias', None)
        self.register_buffer('weight', (ones if weight is None else
                                        weight.detach()).clone())
        self.register_buffer('bias', (ones * 0 if bias is None else
                                      bias.detach()).clone())
        # [sum of batch means (C), sum of unbiased batch variances (C),
        # number of batches (1)]
        self.register_buffer('sums', torch.zeros(
            2 * c + 1, dtype=torch.float64, device=ones.device))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(f'expected (N, C, H, W) input, got {x.dim()}-d')
        mean, var, count = _global_moments(
            *masked_moments(x, self.extents.extents(x)))
        c = len(mean)
        self.sums[:c] += mean
        self.sums[c:2 * c] += var * (count / max(count - 1, 1))
        self.sums[-1] += 1
        scale = self.weight * torch.rsqrt(var.to(x.dtype) + self.eps)
        shift = self.bias - mean.to(x.dtype) * scale
        return x * scale[None, :, None, None] + shift[None, :, None, None]


def _global_moments(mean: Tensor, var: Tensor,
                    count: int) -> Tuple[Tensor, Tensor, int]:
    """Mean and biased variance (float64) of the union of every process's
    positions at this step, from each one's (``torch.distributed``, when
    initialised; else this process's own): Chan et al.'s pairwise rule,
    exact up to rounding."""
    local = torch.cat([
        torch.tensor([count], dtype=torch.float64, device=mean.device),
        mean.double(), var.double()])
    parts = torch.stack(all_gather(local))  # (W, 2C + 1)
    counts, means, variances = parts[:, :1], parts[:, 1:1 + len(mean)], \
        parts[:, 1 + len(mean):]
    total = counts.sum()
    g_mean = (counts * means).sum(0) / total
    g_var = (counts * (variances + (means - g_mean).square())).sum(0) / total
    return g_mean, g_var, int(total.item())


@contextlib.contextmanager
def estimate_bn_stats(model: nn.Module,
                      modules: Sequence[str]) -> Iterator[ImageExtents]:
    """Within the block, the norm layers inside ``modules`` normalise with
    the statistics of each batch (over the valid positions of its images)
    and keep them; on exit each layer's new, frozen statistics are the
    average over the batches of the batch mean and unbiased batch variance
    (as ``BatchNorm`` with ``momentum=None``).

    With ``torch.distributed`` initialised, a batch is the union of every
    process's batch at that step (as ``SyncBatchNorm``): W processes with
    batches of b frames get exactly the statistics of one process with
    batches of W * b (mmengine's samplers deal frame i of a shuffled list
    to process i % W), and every process the same ones. All processes must
    run the same number of batches (mmengine's samplers pad them to it).

    Yields an :class:`ImageExtents`: before each batch, the caller sets the
    image shapes and padded shape of the batch in it (or leaves it unset:
    every position counts). The caller runs the data through ``model``
    under ``torch.no_grad()``. Affine parameters never change; a layer no
    batch reached keeps its statistics. On an exception the original
    layers come back unchanged.

    Raises:
        ValueError: When the modules hold no norm layer.
    """
    layers = norm_layers(model, modules)
    if not layers:
        raise ValueError(f'no BatchNorm / FrozenBN layer in {list(modules)}')
    extents = ImageExtents()
    swaps = []
    for parent, attr, layer in layers:
        stats = _MaskedBatchStats(layer, extents)
        parent._modules[attr] = stats
        swaps.append((parent, attr, layer, stats))
    ok = False
    try:
        yield extents
        ok = True
    finally:
        for parent, attr, layer, _ in swaps:
            parent._modules[attr] = layer
        if ok:
            for _, _, layer, stats in swaps:
                _set_statistics(layer, stats.sums)


@torch.no_grad()
def _set_statistics(layer: nn.Module, sums: Tensor) -> None:
    """Store the average batch statistics of ``sums`` in ``layer``."""
    c = layer.num_features
    batches = int(sums[-1].item())
    if batches == 0:
        return
    dtype = layer.running_mean.dtype
    layer.running_mean.copy_((sums[:c] / batches).to(dtype))
    layer.running_var.copy_((sums[c:2 * c] / batches).to(dtype))
    if getattr(layer, 'num_batches_tracked', None) is not None:
        layer.num_batches_tracked.fill_(batches)


class OnlineBNStats:
    """Causal AdaBN for a stream: while :meth:`tracking` is on, every frame
    run through the FrozenBN layers of ``modules`` first updates their
    statistics with its own, then is normalised with them.

    The weight of a frame is ``max(1 / (k + 1), momentum)`` for the k-th
    frame since :meth:`reset`: a cumulative average of the frames seen so
    far, then an exponential one. Frames later than the current one are
    never used. A frame's statistics are over its own pixels only (the
    valid region, module doc): the image and padded shapes come from the
    output of ``model.data_preprocessor`` (``img_shape`` of each sample and
    the batch's input shape). Costs a per-channel mean and variance per
    layer.

    Args:
        model (nn.Module): The model holding the layers (and the
            ``data_preprocessor`` that pads the frames).
        modules (Sequence[str]): Sub-modules whose FrozenBN layers adapt.
        momentum (float): Lower bound of a frame's weight, in (0, 1].
    """

    def __init__(self, model: nn.Module, modules: Sequence[str],
                 momentum: float) -> None:
        if not 0 < momentum <= 1:
            raise ValueError(f'momentum must be in (0, 1], got {momentum!r}')
        self.layers = [layer for _, _, layer in norm_layers(model, modules)
                       if isinstance(layer, FrozenBatchNorm2d)]
        if not self.layers:
            raise ValueError(f'no FrozenBN layer in {list(modules)}')
        self.preprocessor = getattr(model, 'data_preprocessor', None)
        self.momentum = momentum
        self.frames = 0
        self._weight = 1.0
        self.extents = ImageExtents()

    def reset(self) -> None:
        """Start a new stream (the caller restores the statistics)."""
        self.frames = 0

    def _record_shapes(self, module: nn.Module, args: tuple,
                       data: dict) -> None:
        """Forward hook on the data preprocessor: the frames' shapes."""
        inputs = data['inputs']
        self.extents.set([_frame_sample(s).metainfo['img_shape']
                          for s in data['data_samples']], inputs.shape[-2:])

    def _update(self, layer: nn.Module, inputs: tuple) -> None:
        x = inputs[0].detach()  # (N, C, H, W)
        mean, var, n = masked_moments(x, self.extents.extents(x),
                                     two_pass=False)
        var = var * (n / max(n - 1, 1))  # unbiased, as BatchNorm keeps it
        layer.running_mean.mul_(1 - self._weight).add_(mean,
                                                       alpha=self._weight)
        layer.running_var.mul_(1 - self._weight).add_(var, alpha=self._weight)

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        """Update the statistics with every frame run in the block."""
        self._weight = max(1.0 / (self.frames + 1), self.momentum)
        handles = [layer.register_forward_pre_hook(self._update)
                   for layer in self.layers]
        if self.preprocessor is not None:
            handles.append(self.preprocessor.register_forward_hook(
                self._record_shapes))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
            self.extents.set(None)
            self.frames += 1


def _frame_sample(sample):
    """The DetDataSample of a tracking batch entry (one frame per
    TrackDataSample at test time), or the sample itself."""
    frames = getattr(sample, 'video_data_samples', None)
    if frames is None:
        return sample
    if len(frames) != 1:
        raise ValueError('OnlineBNStats tracks one frame per sample, got '
                         f'{len(frames)}')
    return frames[0]
