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
import os.path as osp
import pickle
from typing import Any, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

_REGISTERED = False


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint that safe loading refuses; names the file and types."""


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


def safe_load(filename: str, map_location: Optional[Any] = None) -> Any:
    """``torch.load(filename, weights_only=True)`` with clear errors.

    Raises:
        FileNotFoundError: When ``filename`` is not a file.
        UnsafeCheckpointError: When the file holds types outside the
            allow-list (e.g. a pickle payload); names the file and the
            offending types. Nothing from the file runs.
    """
    register_safe_globals()
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {filename}: it holds '
            f'{_unsafe_types(filename) or "types"} that safe loading does '
            f'not allow ({_first_line(exc)}). Convert it where you trust '
            'its source, e.g. with the mmtrack2mmplug model converter.') from None


def _unsafe_types(filename: str) -> str:
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(
            filename)
    except Exception:  # noqa: BLE001 - only used to word the message
        return ''
    allowed = {n for n in names if n in _allowed_names()}
    return ', '.join(sorted(set(names) - allowed))


def _allowed_names() -> set:
    out = set()
    for item in mmengine_safe_globals():
        if isinstance(item, tuple):
            out.add(item[1])
        else:
            out.add(f'{item.__module__}.{item.__qualname__}')
    return out


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).splitlines() if 'Unsupported global' in ln
             or 'refusing' in ln]
    return lines[0].strip() if lines else type(exc).__name__


# mmengine's extension point for checkpoint sources: every local load that
# goes through mmengine (load_from, resume, init_cfg Pretrained) uses
# safe_load and so reports the file and the refused types.
@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location: Optional[Any]) -> Any:
    filename = osp.expanduser(filename)
    return safe_load(filename, map_location)
