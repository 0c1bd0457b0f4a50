"""Pre-flight checks with errors that name the file or key."""
import json
import os.path as osp
from typing import Dict, Iterable, List, Tuple

from torch import Tensor, nn

from .checkpoint import safe_load


def check_checkpoint_shapes(model: nn.Module, filename: str) -> None:
    """Refuse a checkpoint whose tensors do not fit ``model``.

    Raises:
        ValueError: Naming the file and every key whose shape differs
            (mmengine only warns and tests a half-loaded model).
    """
    state = safe_load(filename, map_location='cpu')
    state = state.get('state_dict', state)
    own = model.state_dict()
    bad: List[Tuple[str, tuple, tuple]] = [
        (k, tuple(v.shape), tuple(own[k].shape)) for k, v in state.items()
        if k in own and hasattr(v, 'shape') and v.shape != own[k].shape
    ]
    if bad:
        lines = '\n'.join(f'  {k}: checkpoint {a} vs model {b}'
                          for k, a, b in bad)
        raise ValueError(f'checkpoint {filename} does not fit the model of '
                         f'this config ({len(bad)} shape mismatches):\n'
                         f'{lines}')


def check_image_files(ann_file: str, img_prefix: str,
                      max_listed: int = 5) -> None:
    """Refuse an annotation file that points to absent images.

    Raises:
        FileNotFoundError: Naming the annotation file and the first absent
            images (and how many there are).
    """
    with open(ann_file) as f:
        images = json.load(f).get('images', [])
    missing = [osp.join(img_prefix, im['file_name']) for im in images
               if not osp.isfile(osp.join(img_prefix, im['file_name']))]
    if missing:
        shown = '\n'.join(f'  {m}' for m in missing[:max_listed])
        raise FileNotFoundError(
            f'{ann_file} lists {len(missing)} image(s) that do not exist, '
            f'e.g.:\n{shown}')


def dataset_files(cfg) -> Iterable[Tuple[str, str, str]]:
    """(split, ann_file, image folder) of each dataloader in ``cfg``."""
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        dataset = loader.get('dataset') if loader else None
        if not dataset or 'ann_file' not in dataset:
            continue
        root = dataset.get('data_root') or ''
        prefix = (dataset.get('data_prefix') or {}).get('img_path', '')
        ann = dataset['ann_file']
        yield split, osp.join(root, ann) if not osp.isabs(ann) else ann, \
            osp.join(root, prefix)


# BatchNorm's counter: a BN source checkpoint loads into FrozenBN without it
_IGNORED_SUFFIXES = ('num_batches_tracked', )


def student_checkpoint_problems(model: nn.Module,
                                state: Dict[str, Tensor],
                                teacher_prefix: str = 'teacher_'
                                ) -> List[str]:
    """What keeps ``state`` from initialising every student weight.

    Student keys are the model's state-dict keys outside the
    ``teacher_prefix`` modules (teacher keys of a DARTH checkpoint are
    checked too when present). BatchNorm's ``num_batches_tracked`` is
    ignored: a source model trained with BatchNorm loads into FrozenBN.

    Returns:
        list[str]: One line per missing, unexpected or mis-shaped key
        (empty when the checkpoint fits).
    """
    own = {k: v for k, v in model.state_dict().items()
           if not k.endswith(_IGNORED_SUFFIXES)}
    state = {k: v for k, v in state.items()
             if not k.endswith(_IGNORED_SUFFIXES)}
    has_teacher = any(k.startswith(teacher_prefix) for k in state)
    expected = {k: v for k, v in own.items()
                if has_teacher or not k.startswith(teacher_prefix)}
    problems = [f'missing: {k}' for k in expected if k not in state]
    problems += [f'unexpected: {k}' for k in state if k not in own]
    problems += [
        f'shape: {k}: checkpoint {tuple(v.shape)} vs model '
        f'{tuple(expected[k].shape)}' for k, v in state.items()
        if k in expected and hasattr(v, 'shape')
        and v.shape != expected[k].shape
    ]
    return problems
