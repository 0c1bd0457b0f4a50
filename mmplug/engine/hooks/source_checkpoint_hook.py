"""Refuse to adapt anything but a complete source model."""
import re
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS
from mmplug.utils.checks import format_problems, student_checkpoint_problems


class SourceCheckpointError(ValueError):
    """Adaptation without a checkpoint that fits every student weight."""


@HOOKS.register_module()
class SourceCheckpointHook(Hook):
    """Stop test-time adaptation before its first step unless a source
    checkpoint initialised every student weight.

    mmengine loads ``load_from`` non-strictly: without it, or with renamed
    or mis-shaped keys, DARTH would silently adapt a random or partly random
    model. This hook checks the loaded checkpoint's keys against the model
    (:func:`student_checkpoint_problems`; ``--resume`` checkpoints are
    checked the same way) and refuses to start training when none was
    loaded. Give the source model with ``--cfg-options load_from=PATH``.

    Args:
        max_listed (int): Problem keys listed in the error. Defaults to 20.
    """

    priority = 'VERY_HIGH'

    def __init__(self, max_listed: int = 20) -> None:
        if not isinstance(max_listed, int) or max_listed < 1:
            raise ValueError(f'max_listed must be an int >= 1, got '
                             f'{max_listed!r}')
        self.max_listed = max_listed
        self._loaded: Optional[str] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        state = checkpoint.get('state_dict', checkpoint)
        # mmengine strips a (Distributed)DataParallel prefix when loading
        state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
        name = runner._load_from or 'the resumed checkpoint'
        problems = student_checkpoint_problems(model, state)
        if problems:
            raise SourceCheckpointError(
                f'checkpoint {name} does not fit the model to adapt '
                f'({len(problems)} problems):\n'
                f'{format_problems(problems, self.max_listed)}\nAdaptation '
                'needs the source model trained with the same architecture.')
        self._loaded = name

    def before_train(self, runner) -> None:
        if self._loaded is None:
            raise SourceCheckpointError(
                'test-time adaptation needs a source checkpoint, but none was '
                'loaded (load_from=None): pass --cfg-options '
                'load_from=SOURCE.pth')
