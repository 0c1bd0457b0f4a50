"""Pre-flight checks with errors that name the file or key."""
import json
import logging
import os.path as osp
import re
from typing import Dict, Iterable, List, Tuple

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from .checkpoint import safe_load


class CheckpointMismatchError(ValueError):
    """A checkpoint that does not initialise the model it is tested with."""


def check_checkpoint_fits(model: nn.Module, filename: str,
                          allow_missing: bool = False,
                          max_listed: int = 20) -> List[str]:
    """Refuse to test ``model`` with a checkpoint that does not fill it.

    mmengine loads non-strictly and only warns: a checkpoint whose keys
    match nothing (mmdet's ``backbone.*`` for a QDTrack's
    ``detector.backbone.*``) would test a random model. The keys are
    checked as :class:`SourceCheckpointHook` checks them before adaptation
    (:func:`student_checkpoint_problems`): a source checkpoint (no
    ``teacher_*`` keys) fits a TeacherQDTrack / DARTH model, whose teacher
    starts as the student; an adapted one must fill the teacher too. Keys
    the model does not have are left to mmengine's warning.

    Args:
        model (nn.Module): The model to test (a model wrapper's module).
        filename (str): The checkpoint.
        allow_missing (bool): Only warn about missing weights (mis-shaped
            ones are always an error). Defaults to False.
        max_listed (int): Keys listed in the error. Defaults to 20.

    Returns:
        list[str]: The missing keys that were allowed (empty when none).

    Raises:
        CheckpointMismatchError: Naming the file and the mis-shaped keys,
            or the missing ones unless ``allow_missing``.
    """
    if is_model_wrapper(model):  # e.g. DDP under the distributed launcher
        model = model.module
    problems = student_checkpoint_problems(model, load_state_dict(filename))
    shapes = [p for p in problems if p.startswith('shape: ')]
    missing = [p for p in problems if p.startswith('missing: ')]
    if shapes:
        raise CheckpointMismatchError(
            f'checkpoint {filename} does not fit the model of this config '
            f'({len(shapes)} shape mismatches):\n'
            f'{format_problems(shapes, max_listed)}')
    if missing and not allow_missing:
        raise CheckpointMismatchError(
            f'checkpoint {filename} misses {len(missing)} weights of the '
            f'model of this config, which would be tested with random '
            f'values:\n{format_problems(missing, max_listed)}\nIs it a '
            'checkpoint of this model? (A detector checkpoint belongs in '
            'model.detector.init_cfg for training; an mmtrack one needs '
            'the mmtrack2mmplug model converter.) --allow-missing '
            'tests anyway.')
    if missing:
        print_log(f'--allow-missing: testing with {len(missing)} weights '
                  f'that {filename} misses left at their initial values',
                  logger='current', level=logging.WARNING)
    return missing


def load_state_dict(filename: str) -> Dict[str, Tensor]:
    """The state dict of a checkpoint file, loaded safely, with the
    ``module.`` prefix of a (Distributed)DataParallel model stripped as
    mmengine strips it when loading."""
    state = safe_load(filename, map_location='cpu')
    state = state.get('state_dict', state)
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def format_problems(problems: List[str], max_listed: int) -> str:
    """The first ``max_listed`` problems, one indented line each, and how
    many more there are."""
    shown = '\n'.join(f'  {p}' for p in problems[:max_listed])
    more = len(problems) - max_listed
    return shown + (f'\n  ... and {more} more' if more > 0 else '')


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
        f'{tuple(own[k].shape)}' for k, v in state.items()
        if k in own and hasattr(v, 'shape') and v.shape != own[k].shape
    ]
    return problems
