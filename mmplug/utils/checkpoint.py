"""Safe (``weights_only``) loading of mmengine / mmdet checkpoints.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7
calls ``torch.load`` without arguments, so its own checkpoints fail to load
(resume breaks): they hold a few non-tensor types (the message hub's
``HistoryBuffer`` objects and numpy arrays / scalars). Instead of switching
safe loading off, mmplug adds exactly those types to torch's allow-list; any
other global in a checkpoint is still refused.

``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer,
'mean')``. Allowing ``builtins.getattr`` itself would let a checkpoint read
any attribute of any allowed object, so the pickle's ``getattr`` resolves to
:func:`_history_buffer_getattr`, which only returns HistoryBuffer's
registered statistics methods.
"""
import pickle
from typing import Any, List, Tuple, Union

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


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods."""
    from mmengine.logging.history_buffer import HistoryBuffer
    # the four built-in ones are registered lazily (in __init__)
    allowed = {'min', 'max', 'mean', 'current'}
    allowed.update(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) in a checkpoint: only '
        'HistoryBuffer statistics methods may be looked up')


def mmengine_safe_globals() -> List[Union[type, Tuple[object, str]]]:
    """The non-tensor types found in mmengine / mmdet checkpoints."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')
            ] + _numpy_globals()


def register_safe_globals() -> None:
    """Allow :func:`mmengine_safe_globals` in torch's ``weights_only`` loader.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    torch.serialization.add_safe_globals(mmengine_safe_globals())
    _REGISTERED = True
