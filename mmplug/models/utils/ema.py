"""The EMA arithmetic of DARTH's teacher update."""
from typing import Iterable, Tuple

import torch
from torch import Tensor


@torch.no_grad()
def ema_update_(pairs: Iterable[Tuple[Tensor, Tensor]],
                momentum: float) -> None:
    """In place: ``t = (1 - momentum) * t + momentum * s`` for every
    (teacher, student) pair of floating tensors; other tensors (e.g. BN's
    ``num_batches_tracked``) are copied from the student.

    Args:
        pairs: (teacher tensor, student tensor) of equal shapes.
        momentum (float): Weight of the student, in [0, 1].
    """
    if not 0 <= momentum <= 1:
        raise ValueError(f'momentum must be in [0, 1], got {momentum}')
    for t, s in pairs:
        if t.is_floating_point():
            t.mul_(1 - momentum).add_(s.detach(), alpha=momentum)
        else:
            t.copy_(s)
