"""Safe (``weights_only``) loading of mmengine / mmdet checkpoints.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7
calls ``torch.load`` without arguments, so its own checkpoints fail to load
(resume breaks): they hold a few non-tensor types (the message hub's
``HistoryBuffer`` objects and numpy arrays / scalars). Instead of switching
safe loading off, mmplug adds exactly those types to torch's allow-list; any
other global in a checkpoint is still refused.
"""
from typing import List, Tuple, Union

import numpy as np
import torch

_REGISTERED = False


def _numpy_globals() -> List[Union[type, Tuple[object, str]]]:
    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # _reconstruct
    scalar = np.float64(0).__reduce__()[0]  # multiarray.scalar
    dtype_types = {type(np.dtype(c)) for c in '?bBhHiIlLqQefdgFDGOUSV'}
    out: List[Union[type, Tuple[object, str]]] = [np.ndarray, np.dtype]
    out += sorted(dtype_types, key=lambda t: t.__name__)
    # Checkpoints written under numpy 1 name numpy.core.*, under numpy 2
    # numpy._core.*: allow both spellings of the same two functions.
    for fn in (reconstruct, scalar):
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            out.append((fn, f'{module}.{fn.__name__}'))
    return out


def mmengine_safe_globals() -> List[Union[type, Tuple[object, str]]]:
    """The non-tensor types found in mmengine / mmdet checkpoints."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer] + _numpy_globals()


def register_safe_globals() -> None:
    """Allow :func:`mmengine_safe_globals` in torch's ``weights_only`` loader.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    torch.serialization.add_safe_globals(mmengine_safe_globals())
    _REGISTERED = True
