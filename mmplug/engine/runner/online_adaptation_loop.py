"""Online test-time adaptation: track a frame, then learn from it."""
import copy
import zlib
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast
from torch import nn
from torch.utils.data import DataLoader

from mmdet.registry import LOOPS
from mmplug.datasets.transforms.track_and_adapt import (DeferredViews,
                                                        TrackAndAdaptInputs)
from mmplug.models.mot.teacher_qdtrack import teacher_student_tensors
from mmplug.models.utils.bn_stats import OnlineBNStats
from mmplug.models.utils.ema import ema_update_

RESETS = ('video', 'never')
TRACKERS = ('student', 'teacher')


@LOOPS.register_module()
class OnlineAdaptationTestLoop(TestLoop):
    """Single-pass adaptation while tracking the test stream (DARTH online).

    Frames come in the test dataloader's order (``TrackImgSampler``, one
    frame per item, made by :class:`TrackAndAdaptInputs`; its adaptation
    views are made here, in this process, only for the frames adapted on).
    For each frame:

    1. at the first frame of a video with ``reset='video'``: student,
       teacher and optimiser go back to the loaded source checkpoint;
    2. the frame is tracked (evaluated as by ``TestLoop``), by the student
       or the teacher (``track_with``);
    3. every ``interval`` frames, unless the skip rule says the frame needs
       no adaptation, one optimiser step of the model's loss (DARTH's
       losses) on that same frame's adaptation views, then the EMA teacher
       update. So no tracking result depends on a frame that the model has
       not yet reached.

    The fraction of frames adapted (over all processes) is logged and
    returned as
    ``online/adapted_fraction``.

    With several processes (``--launcher pytorch``), each adapts its own
    copy on its own videos, without gradient synchronisation: with
    ``reset='video'`` this is exactly the single-process result per video;
    ``reset='never'`` would make the results depend on how videos are split
    across processes, so it is refused.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Test frames with ``adapt`` inputs.
        evaluator (Evaluator | dict | list): As ``TestLoop``.
        optim_wrapper (dict): Optimiser of the adaptation steps (built by
            the runner, e.g. ``dict(optimizer=dict(type='SGD', lr=...))``).
        reset (str): ``'video'`` (SHIFT protocol: source weights and a fresh
            optimiser at each new video) or ``'never'`` (continual).
        track_with (str): ``'student'`` or ``'teacher'``.
        interval (int): Adapt on every ``interval``-th frame of a video.
        ema_momentum (float): Student weight of the teacher's EMA update
            after each optimiser step (every k-th adaptation with
            ``accumulative_counts=k``), in [0, 1].
        skip_conf_thr (float, optional): Skip rule: adapt only when the mean
            score of the tracking model's detections on the frame (those
            above ``skip_score_floor``; 0 when there are none) is below this.
            None adapts on every ``interval``-th frame.
        skip_score_floor (float): Detections counted by the skip rule.
        bn_momentum (float, optional): Online AdaBN: the tracking model's
            FrozenBN statistics in ``bn_modules`` follow the frames seen so
            far (:class:`OnlineBNStats`, each frame updating them before it
            is normalised), and the other model gets the same statistics.
            None keeps the loaded statistics.
        bn_modules (Sequence[str]): Student modules for ``bn_momentum``.
        trainable (Sequence[str], optional): Student modules whose
            parameters the steps update (the others are frozen during the
            run, so no gradient flows through them). None: every parameter
            that requires a gradient.
        fp16 (bool): As ``TestLoop``.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 optim_wrapper: dict,
                 reset: str = 'video',
                 track_with: str = 'student',
                 interval: int = 1,
                 ema_momentum: float = 0.002,
                 skip_conf_thr: Optional[float] = None,
                 skip_score_floor: float = 0.3,
                 bn_momentum: Optional[float] = None,
                 bn_modules: Sequence[str] = ('detector.backbone', ),
                 trainable: Optional[Sequence[str]] = None,
                 fp16: bool = False) -> None:
        _check_args(reset, track_with, interval, ema_momentum, skip_conf_thr,
                    bn_momentum, trainable)
        super().__init__(runner, dataloader, evaluator, fp16)
        self.optim_cfg = optim_wrapper
        self.reset = reset
        self.track_with = track_with
        self.interval = interval
        self.ema_momentum = ema_momentum
        self.skip_conf_thr = skip_conf_thr
        self.skip_score_floor = skip_score_floor
        self.bn_momentum = bn_momentum
        self.bn_modules = tuple(bn_modules)
        self.trainable = None if trainable is None else tuple(trainable)

    @property
    def model(self) -> nn.Module:
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def run(self) -> dict:
        """Track and adapt over the whole test stream; returns the metrics
        plus ``online/adapted_fraction``."""
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        model = self.model
        if not hasattr(model, 'teacher_cfg'):
            raise TypeError('OnlineAdaptationTestLoop needs a teacher / '
                            'student model (e.g. DARTHQDTrack), got '
                            f'{type(model).__name__}')
        model.teacher_cfg['eval_teacher_preds'] = self.track_with == 'teacher'
        self._freeze_untrainable(model)
        # the loaded checkpoint: the state every reset returns to
        self._source = copy.deepcopy(model.state_dict())
        # EMA over what the steps train; the frozen rest stays equal (and
        # the online BN statistics are mirrored after each frame)
        self._pairs = [(t, s) for _, t, s in teacher_student_tensors(model)
                       if s.requires_grad]
        self._setup_online_bn(model)
        self._views = _find_views_transform(self.dataloader.dataset)
        if self._views is not None:  # the views follow randomness.seed
            self._views.set_seed(self.runner.seed)
        self._new_optimizer()
        self.counts = dict(frames=0, adapted=0)
        self._modes = {mode: _mode_flags(model, mode == 'train')
                       for mode in ('train', 'eval')}
        model.eval()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        frames, adapted = _summed_over_processes(self.counts['frames'],
                                                 self.counts['adapted'])
        fraction = adapted / max(frames, 1)
        metrics['online/adapted_fraction'] = fraction
        self.runner.logger.info(
            f'online adaptation: adapted on {adapted} of {frames} frames '
            f'({100 * fraction:.1f} %)')
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    def _freeze_untrainable(self, model: nn.Module) -> None:
        if self.trainable is None:
            return
        names = [n for n, _ in model.named_modules()]
        unknown = [t for t in self.trainable if t not in names]
        if unknown:
            raise ValueError(f'test_cfg.trainable: the model has no module '
                             f'{unknown}')
        prefixes = tuple(f'{t}.' for t in self.trainable)
        for name, param in model.named_parameters():
            if not name.startswith(prefixes):
                param.requires_grad_(False)

    def _setup_online_bn(self, model: nn.Module) -> None:
        """Online BN statistics on the tracking model, mirrored to the
        other one after each frame."""
        self._bn, self._bn_mirror = None, []
        if self.bn_momentum is None:
            return
        teacher = self.track_with == 'teacher'
        modules = [f'teacher_{m}' if teacher else m for m in self.bn_modules]
        self._bn = OnlineBNStats(model, modules, self.bn_momentum)
        prefixes = tuple(f'teacher_{m}.' for m in self.bn_modules)
        for name, t, s in teacher_student_tensors(model):
            if name.startswith(prefixes) and name.endswith(
                    ('running_mean', 'running_var')):
                self._bn_mirror.append((t, s) if teacher else (s, t))

    def _new_optimizer(self) -> None:
        self.optim_wrapper = self.runner.build_optim_wrapper(
            copy.deepcopy(self.optim_cfg))

    def run_iter(self, idx: int, data_batch: dict) -> None:
        """Track one frame, then (maybe) adapt on it."""
        adapt_batch = data_batch.pop('adapt', None)
        if adapt_batch is None:
            raise KeyError('OnlineAdaptationTestLoop needs adaptation inputs '
                           'in each batch: wrap the test pipeline in '
                           'TrackAndAdaptInputs')
        frame = data_batch['data_samples'][0][0]  # one frame per batch
        if self.reset == 'video' and frame.frame_id == 0:
            self._reset()
        outputs = self.track(idx, data_batch)
        self.counts['frames'] += 1
        if frame.frame_id % self.interval == 0 and self._needs_adaptation(
                outputs):
            self.adapt(self.views(adapt_batch))
            self.counts['adapted'] += 1

    @torch.no_grad()
    def track(self, idx: int, data_batch: dict) -> Sequence:
        """``TestLoop.run_iter``, returning the predictions."""
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16), (
                self._bn.tracking() if self._bn else nullcontext()):
            outputs = self.runner.model.test_step(data_batch)
        for src, dst in self._bn_mirror:
            dst.copy_(src)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            'after_test_iter', batch_idx=idx, data_batch=data_batch,
            outputs=outputs)
        return outputs

    def _reset(self) -> None:
        self.model.load_state_dict(self._source)
        self._new_optimizer()
        if self._bn is not None:
            self._bn.reset()

    def _needs_adaptation(self, outputs: Sequence) -> bool:
        if self.skip_conf_thr is None:
            return True
        scores = outputs[0][0].pred_instances.scores
        scores = scores[scores >= self.skip_score_floor]
        confidence = scores.mean().item() if len(scores) else 0.0
        return confidence < self.skip_conf_thr

    def views(self, adapt_batch) -> dict:
        """The collated adaptation views of a batch whose ``adapt`` entry
        holds :class:`DeferredViews` (made here); a packed one as is."""
        if isinstance(adapt_batch, list) and all(
                isinstance(f, DeferredViews) for f in adapt_batch):
            if self._views is None:
                raise TypeError(
                    'deferred adaptation views, but test_dataloader.dataset'
                    ' has no TrackAndAdaptInputs in its own pipeline (a '
                    'wrapped dataset?): set defer=False in it')
            return self.dataloader.collate_fn(
                [self._views.views(f) for f in adapt_batch])
        return adapt_batch

    def adapt(self, adapt_batch: dict) -> None:
        """One optimiser step on the frame's adaptation views, then EMA."""
        # the step's random choices (proposal sampling) are seeded by the
        # frame, so they do not depend on how videos are split across
        # processes; the global generator is restored afterwards
        frame = adapt_batch['data_samples'][0].video_data_samples[0]
        key = f'{self.runner.seed}:{frame.video_id}/{frame.frame_id}'
        seed = zlib.crc32(key.encode())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._step(adapt_batch)

    def _step(self, adapt_batch: dict) -> None:
        model = self.model
        _set_mode(self._modes['train'])
        with torch.enable_grad(), self.optim_wrapper.optim_context(model):
            data = model.data_preprocessor(adapt_batch, True)
            losses = model.loss(**data)
            parsed, _ = model.parse_losses(losses)
        self.optim_wrapper.update_params(parsed)
        # once per optimiser step (accumulative_counts > 1: every k-th
        # call), as EMATrainHook; update_params has just asked the same
        if self.optim_wrapper.should_update():
            ema_update_(self._pairs, self.ema_momentum)
        _set_mode(self._modes['eval'])


def _check_args(reset, track_with, interval, ema_momentum, skip_conf_thr,
                bn_momentum, trainable) -> None:
    """ValueError naming the bad argument and its allowed values."""
    if reset not in RESETS:
        raise ValueError(f'reset must be one of {RESETS}, got {reset!r}')
    if track_with not in TRACKERS:
        raise ValueError(f'track_with must be one of {TRACKERS}, got '
                         f'{track_with!r}')
    if not isinstance(interval, int) or interval < 1:
        raise ValueError(f'interval must be an int >= 1, got {interval!r}')
    if not 0 <= ema_momentum <= 1:
        raise ValueError('ema_momentum must be in [0, 1], got '
                         f'{ema_momentum!r}')
    if skip_conf_thr is not None and not 0 <= skip_conf_thr <= 1:
        raise ValueError('skip_conf_thr must be None or in [0, 1], got '
                         f'{skip_conf_thr!r}')
    if bn_momentum is not None and not 0 < bn_momentum <= 1:
        raise ValueError('bn_momentum must be None or in (0, 1], got '
                         f'{bn_momentum!r}')
    if trainable is not None and (isinstance(trainable, str)
                                  or not trainable):
        raise ValueError('trainable must be None or a non-empty list of '
                         f'module names, got {trainable!r}')
    if reset == 'never' and get_world_size() > 1:
        raise ValueError(
            "OnlineAdaptationTestLoop: reset='never' (continual "
            f'adaptation) with {get_world_size()} processes would adapt '
            'each process on its own share of the videos, so the result '
            "would depend on the number of processes; use reset='video' "
            'or run it in one process')


def _summed_over_processes(*counts: int) -> List[int]:
    """``counts`` summed over every process (as they are without
    ``torch.distributed``), e.g. the frames each process saw."""
    total = torch.tensor(counts, dtype=torch.float64)
    all_reduce(total, op='sum')
    return [int(c) for c in total.tolist()]


def _find_views_transform(dataset) -> Optional[TrackAndAdaptInputs]:
    """The dataset's TrackAndAdaptInputs (it makes deferred views)."""
    pipeline = getattr(dataset, 'pipeline', None)
    for t in getattr(pipeline, 'transforms', []):
        if isinstance(t, TrackAndAdaptInputs):
            return t
    return None


def _mode_flags(model: nn.Module, train: bool) -> List[tuple]:
    """Every module's ``training`` flag after ``model.train(train)`` (which
    also applies e.g. frozen stages and ``norm_eval``)."""
    model.train(train)
    return [(m, m.training) for m in model.modules()]


def _set_mode(flags: List[tuple]) -> None:
    """Restore recorded ``training`` flags: ``model.train()`` recurses
    through every module's Python ``train`` (teacher included) and costs
    more than a small adaptation step on CPU."""
    for module, training in flags:
        object.__setattr__(module, 'training', training)
