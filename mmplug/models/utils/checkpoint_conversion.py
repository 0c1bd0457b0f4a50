"""mmtrack 0.x QDTrack / DARTH checkpoints -> mmplug checkpoints.

mmtrack 0.x and DARTH save ``{'meta': {... mmcv 1.x fields, 'CLASSES'},
'state_dict': ..., 'optimizer': ...}``. Their QDTrack modules (mmdet 2.x
Faster R-CNN, QuasiDenseTrackHead / QuasiDenseEmbedHead) have the same
parameter names as mmdet 3.x's, so the conversion keeps the weights, applies
the few renames in :data:`RENAMES`, drops optimiser and mmcv 1.x meta, turns
``meta['CLASSES']`` into mmengine's ``meta['dataset_meta']`` and checks the
keys against the target model, reporting what it cannot map.
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Tuple

import torch

# (pattern, replacement) applied in order to every key
RENAMES: List[Tuple[str, str]] = [
    (r'^module\.', ''),  # saved from a (Distributed)DataParallel wrapper
]
# non-weight entries mmcv 1.x checkpoints carry in their state dict
DROPPED = (r'\.num_batches_tracked$', )


def convert_state_dict(state_dict: Dict[str, torch.Tensor]
                       ) -> 'OrderedDict[str, torch.Tensor]':
    """Apply :data:`RENAMES` to every key."""
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key, value in state_dict.items():
        new = key
        for pattern, repl in RENAMES:
            new = re.sub(pattern, repl, new)
        if new in out:
            raise KeyError(f'two keys map to {new!r} (last from {key!r})')
        out[new] = value
    return out


def compare_keys(converted: Iterable[str], expected: Iterable[str]
                 ) -> Tuple[List[str], List[str]]:
    """(missing, unexpected) keys, ignoring BN's num_batches_tracked."""
    def keep(k):
        return not any(re.search(p, k) for p in DROPPED)

    converted = {k for k in converted if keep(k)}
    expected = {k for k in expected if keep(k)}
    return sorted(expected - converted), sorted(converted - expected)


def convert_checkpoint(checkpoint: dict,
                       expected_keys: Optional[Iterable[str]] = None
                       ) -> Tuple[dict, List[str], List[str]]:
    """Convert a loaded mmtrack / DARTH checkpoint.

    Args:
        checkpoint (dict): As saved by mmcv 1.x (or a bare state dict).
        expected_keys (Iterable[str], optional): The target model's state
            dict keys; when given, the missing / unexpected keys are listed.

    Returns:
        tuple: the mmplug checkpoint ``{'state_dict', 'meta'}``, missing
        keys, unexpected keys.
    """
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not all(
            torch.is_tensor(v) for v in state.values()):
        raise ValueError('no state dict of tensors in the checkpoint')
    converted = convert_state_dict(state)
    old_meta = checkpoint.get('meta') or {}
    meta = dict(converted_from='mmtrack 0.x / DARTH (mmcv 1.x)')
    classes = old_meta.get('CLASSES') or (
        old_meta.get('dataset_meta') or {}).get('classes')
    if classes:
        meta['dataset_meta'] = dict(classes=tuple(classes))
    missing, unexpected = ([], []) if expected_keys is None else \
        compare_keys(converted, expected_keys)
    return dict(state_dict=converted, meta=meta), missing, unexpected
