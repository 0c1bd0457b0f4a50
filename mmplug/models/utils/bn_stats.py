"""Re-estimation of BatchNorm statistics on new data (AdaBN)."""
import contextlib
from typing import Iterator, List, Sequence, Tuple

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers.frozen_bn import FrozenBatchNorm2d

NormLayer = Tuple[nn.Module, str, nn.Module]  # (parent, attribute, layer)


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


@contextlib.contextmanager
def estimate_bn_stats(model: nn.Module,
                      modules: Sequence[str]) -> Iterator[int]:
    """Within the block, the norm layers inside ``modules`` normalise with
    batch statistics and average them (cumulatively, over every batch run
    through them); on exit those averages are their new, frozen statistics.

    BatchNorm layers are reset and switched to ``momentum=None``; FrozenBN
    layers (fixed statistics) are replaced by a BatchNorm with their affine
    parameters for the duration, and get its averages back. Affine
    parameters never change. Yields the number of layers; the caller runs
    the data through ``model`` under ``torch.no_grad()``.

    Raises:
        ValueError: When the modules hold no norm layer.
    """
    layers = norm_layers(model, modules)
    if not layers:
        raise ValueError(f'no BatchNorm / FrozenBN layer in {list(modules)}')
    restore = []
    for parent, attr, layer in layers:
        if isinstance(layer, FrozenBatchNorm2d):
            bn = nn.BatchNorm2d(layer.num_features, eps=layer.eps,
                                momentum=None).to(layer.weight)
            with torch.no_grad():
                bn.weight.copy_(layer.weight)
                bn.bias.copy_(layer.bias)
            bn.requires_grad_(False)
            parent.add_module(attr, bn)
            restore.append((parent, attr, layer, bn))
        else:
            restore.append((parent, attr, layer, layer.momentum))
            layer.reset_running_stats()
            layer.momentum = None
        parent._modules[attr].train()
    try:
        yield len(layers)
    finally:
        for parent, attr, layer, state in restore:
            if isinstance(layer, FrozenBatchNorm2d):
                with torch.no_grad():
                    layer.running_mean.copy_(state.running_mean)
                    layer.running_var.copy_(state.running_var)
                parent.add_module(attr, layer)
            else:
                layer.momentum = state
                layer.eval()


class OnlineBNStats:
    """Causal AdaBN for a stream: while :meth:`tracking` is on, every frame
    run through the FrozenBN layers of ``modules`` first updates their
    statistics with its own, then is normalised with them.

    The weight of a frame is ``max(1 / (k + 1), momentum)`` for the k-th
    frame since :meth:`reset`: a cumulative average of the frames seen so
    far, then an exponential one. Frames later than the current one are
    never used. Costs a per-channel mean and variance per layer.

    Args:
        model (nn.Module): The model holding the layers.
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
        self.momentum = momentum
        self.frames = 0
        self._weight = 1.0

    def reset(self) -> None:
        """Start a new stream (the caller restores the statistics)."""
        self.frames = 0

    def _update(self, layer: nn.Module, inputs: tuple) -> None:
        x = inputs[0].detach()  # (N, C, H, W)
        # E[x] and E[x^2] over the contiguous spatial dims: ~10x faster on
        # CPU than var_mean over (0, 2, 3)
        mean = x.mean(dim=(2, 3)).mean(dim=0)
        n = x.numel() // x.size(1)
        var = ((x * x).mean(dim=(2, 3)).mean(dim=0) - mean * mean).clamp_(
            min=0) * (n / max(n - 1, 1))  # unbiased, as BatchNorm keeps it
        layer.running_mean.mul_(1 - self._weight).add_(mean,
                                                       alpha=self._weight)
        layer.running_var.mul_(1 - self._weight).add_(var, alpha=self._weight)

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        """Update the statistics with every frame run in the block."""
        self._weight = max(1.0 / (self.frames + 1), self.momentum)
        handles = [layer.register_forward_pre_hook(self._update)
                   for layer in self.layers]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
            self.frames += 1
