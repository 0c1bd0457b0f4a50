"""DARTH's EMA teacher update as an mmengine hook."""
from typing import Optional, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict

from mmdet.registry import HOOKS
from mmplug.models.mot.teacher_qdtrack import teacher_student_tensors
from mmplug.models.utils.ema import ema_update_


@HOOKS.register_module()
class EMATrainHook(Hook):
    """After every ``interval`` optimiser steps, update the teacher:
    ``teacher = (1 - m) * teacher + m * student`` for every ``teacher_*``
    parameter and buffer (BatchNorm statistics included), with
    ``m = min(momentum, (1 + it) / (warm_up + it))`` as in DARTH (``it`` is
    the 0-based optimiser step just taken).

    One optimiser step is one iteration unless
    ``optim_wrapper.accumulative_counts`` is k > 1: then the student changes
    only every k-th iteration (and at the last one), and so does the teacher
    (the step is decided as the optimiser wrapper decides it,
    ``OptimWrapper.should_update``). DARTH has no accumulation: at k = 1 this
    is its rule per iteration.

    The teacher weights are part of the model's state dict, so checkpoints
    carry them and ``--resume`` continues with the same teacher; the step
    counter comes from the runner's ``iter`` (through the optimiser
    wrapper's count), restored on resume too.

    Args:
        momentum (float): Upper bound of the student weight, in (0, 1].
            Defaults to 0.002.
        interval (int): Update every ``interval`` optimiser steps. Defaults
            to 1.
        warm_up (int): DARTH's warm-up constant, >= 0. Defaults to 100.
    """

    priority = 'NORMAL'

    def __init__(self, momentum: float = 0.002, interval: int = 1,
                 warm_up: int = 100) -> None:
        if not 0 < momentum <= 1:
            raise ValueError(f'momentum must be in (0, 1], got {momentum}')
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be an int >= 1, got {interval}')
        if warm_up < 0:
            raise ValueError(f'warm_up must be >= 0, got {warm_up}')
        self.momentum = momentum
        self.interval = interval
        self.warm_up = warm_up

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        # (teacher, student) tensor pairs, looked up once
        self._pairs = [(t, s) for _, t, s in teacher_student_tensors(model)]
        if not self._pairs:
            raise ValueError('EMATrainHook needs a model with teacher_* '
                             f'modules (TeacherQDTrack), got '
                             f'{type(model).__name__}')

    def step_momentum(self, it: int) -> float:
        """The momentum used after optimiser step ``it`` (0-based)."""
        return min(self.momentum, (1 + it) / (self.warm_up + it)) \
            if self.warm_up + it > 0 else self.momentum

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        stepped, steps = optimiser_steps(runner)
        if not stepped or steps % self.interval:
            return
        ema_update_(self._pairs, self.step_momentum(steps - 1))


def optimiser_steps(runner) -> Tuple[bool, int]:
    """Whether the training iteration just finished stepped the optimiser,
    and how many steps were taken so far (that one included).

    mmengine's ``OptimWrapper`` counts iterations (``inner_count``, set to
    the runner's ``iter`` when training starts) and steps when the count is
    a multiple of ``accumulative_counts`` or the last one
    (``should_update``): so ``ceil(inner_count / k)`` steps at a step. An
    ``OptimWrapperDict`` steps as its first wrapper; a runner without an
    optimiser wrapper (a bare test runner) steps every iteration.
    """
    wrapper = getattr(runner, 'optim_wrapper', None)
    if isinstance(wrapper, OptimWrapperDict):
        wrapper = next(iter(wrapper.values()), None)
    if not hasattr(wrapper, 'should_update'):
        return True, runner.iter + 1
    # no public getter for the accumulation count in mmengine 0.10.7
    k = wrapper._accumulative_counts
    return wrapper.should_update(), -(-wrapper.inner_count // k)
