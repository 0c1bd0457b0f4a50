"""Training-step time of DARTH adaptation relative to QDTrack training.

Both models start from the same source checkpoint and train at the same
batch size and resolution; their steps are interleaved in one run (Q, D, Q,
D, ...) so that machine load affects both alike. A step is what the runner
does per iteration: ``model.train_step`` (preprocess, forward, backward,
optimiser step with gradient clipping) plus, for DARTH, the EMA teacher
update. Batches are loaded before timing starts; warm-up steps are run but
not timed.
"""
import copy
import statistics
import time
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.runner.checkpoint import load_checkpoint

from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmplug.models.mot.teacher_qdtrack import teacher_student_tensors
from mmplug.models.utils.ema import ema_update_


def _batches(cfg: Config, n: int, batch_size: int, seed: int) -> List[dict]:
    torch.manual_seed(seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    indices = [(v, f) for v in range(len(dataset))
               for f in range(dataset.get_len_per_video(v))]
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(indices), generator=gen).tolist()
    batches = []
    for b in range(n):
        picks = [indices[order[(b * batch_size + i) % len(order)]]
                 for i in range(batch_size)]
        batches.append(pseudo_collate([dataset[p] for p in picks]))
    return batches


class Stepper:
    """One model's training step as the runner takes it (+ EMA for a
    teacher / student model), counting the steps taken."""

    def __init__(self, cfg: Config, checkpoint: str, device: str,
                 ema_momentum: float = 0.002) -> None:
        self.model = MODELS.build(cfg.model)
        self.model.init_weights()
        load_checkpoint(self.model, checkpoint, map_location='cpu',
                        logger='silent')
        self.model.to(device).train()
        self.optim = build_optim_wrapper(self.model, cfg.optim_wrapper)
        self.pairs = [(t, s) for _, t, s in
                      teacher_student_tensors(self.model)]
        self.ema_momentum = ema_momentum
        self.device = device
        self.steps = 0

    def __call__(self, batch: dict) -> None:
        self.model.train_step(batch, self.optim)
        if self.pairs:
            ema_update_(self.pairs, self.ema_momentum)
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
        self.steps += 1


def benchmark(source_cfg: Config, darth_cfg: Config, checkpoint: str,
              iters: int = 20, warmup: int = 3, batch_size: int = 2,
              device: str = 'cpu', seed: int = 0) -> Dict:
    """Median step times (seconds) and their ratio ``darth / qdtrack``.

    Returns:
        dict: ``qdtrack_step_s``, ``darth_step_s``, ``ratio``, ``times``
        (the ``iters`` timed steps of each) and ``steppers`` (the two
        :class:`Stepper`, with their trained models).
    """
    if iters < 1 or warmup < 0:
        raise ValueError(f'need iters >= 1 and warmup >= 0, got {iters}, '
                         f'{warmup}')
    register_all_modules(init_default_scope=True)
    for cfg in (source_cfg, darth_cfg):
        cfg.train_dataloader.batch_size = batch_size
    n = iters + warmup
    steppers = dict(qdtrack=Stepper(source_cfg, checkpoint, device),
                    darth=Stepper(darth_cfg, checkpoint, device))
    batches = dict(qdtrack=_batches(source_cfg, n, batch_size, seed),
                   darth=_batches(darth_cfg, n, batch_size, seed))
    times: Dict[str, List[float]] = dict(qdtrack=[], darth=[])
    for i in range(n):
        for name, step in steppers.items():
            start = time.perf_counter()
            step(batches[name][i])
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    result = {f'{k}_step_s': statistics.median(v) for k, v in times.items()}
    result['ratio'] = result['darth_step_s'] / result['qdtrack_step_s']
    result['times'] = times
    result['steppers'] = steppers
    return result


class _FrameClock(Hook):
    """Times every test iteration from one ``before_test_iter`` to the
    next, so a frame's time holds its data wait, tracking, evaluation and
    (online) adaptation step."""

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self.stamps: List[float] = []

    def before_test_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.stamps.append(time.perf_counter())

    def seconds_per_frame(self) -> float:
        """Mean over frames 1 .. n-2 (frame 0 holds the workers' start,
        the last one ends in the evaluator)."""
        if len(self.stamps) < 3:
            raise ValueError('need at least 3 frames to time')
        return (self.stamps[-1] - self.stamps[1]) / (len(self.stamps) - 2)


def _run_test(cfg: Config, checkpoint: str, work_dir: str) -> Dict:
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.load_from = checkpoint
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**6)
    runner = Runner.from_cfg(cfg)
    clock = _FrameClock()
    runner.register_hook(clock)
    metrics = runner.test()
    return dict(seconds=clock.seconds_per_frame(),
                adapted=metrics.get('online/adapted_fraction', 0.0))


def online_benchmark(online_cfg: Config, checkpoint: str, work_dir: str,
                     videos: int = 2, repeats: int = 2,
                     skip_conf_thr: float = 0.5) -> Dict[str, float]:
    """Seconds per frame of plain tracking vs. online adaptation.

    Three passes over the first ``videos`` test videos, in one process and
    interleaved ``repeats`` times (plain, online, online with the skip rule,
    plain, ...): plain tracking is the same model and data with mmengine's
    ``TestLoop`` and the plain test pipeline; online adaptation is the
    config's ``OnlineAdaptationTestLoop`` adapting on every frame
    (``interval=1``, no skip rule) and with ``skip_conf_thr``. A frame's
    time runs from one test iteration to the next: data wait, tracking,
    evaluation bookkeeping and the adaptation step.

    Returns:
        dict: median ``track_s``, ``online_s``, ``online_skip_s`` per frame,
        ``online_ratio``, ``online_skip_ratio`` and ``adapted_fraction``
        (of the skip-rule pass).
    """
    register_all_modules(init_default_scope=True)
    online_cfg = copy.deepcopy(online_cfg)
    online_cfg.test_dataloader.dataset.indices = videos
    plain = copy.deepcopy(online_cfg)
    track_pipeline = plain.test_dataloader.dataset.pipeline[0]['track']
    plain.test_dataloader.dataset.pipeline = track_pipeline
    plain.test_cfg = dict(type='TestLoop')
    every = copy.deepcopy(online_cfg)
    every.test_cfg.update(interval=1, skip_conf_thr=None)
    skip = copy.deepcopy(online_cfg)
    skip.test_cfg.update(interval=1, skip_conf_thr=skip_conf_thr)
    runs: Dict[str, List[Dict]] = dict(track=[], online=[], online_skip=[])
    for r in range(repeats):
        for name, cfg in (('track', plain), ('online', every),
                          ('online_skip', skip)):
            runs[name].append(_run_test(cfg, checkpoint,
                                        f'{work_dir}/{name}-{r}'))
    out = {f'{k}_s': statistics.median(x['seconds'] for x in v)
           for k, v in runs.items()}
    out['online_ratio'] = out['online_s'] / out['track_s']
    out['online_skip_ratio'] = out['online_skip_s'] / out['track_s']
    out['adapted_fraction'] = statistics.median(
        x['adapted'] for x in runs['online_skip'])
    return out
