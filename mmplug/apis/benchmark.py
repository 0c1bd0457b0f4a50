"""Training-step time of DARTH adaptation relative to QDTrack training.

Both models start from the same source checkpoint and train at the same
batch size and resolution; their steps are interleaved in one run (Q, D, Q,
D, ...) so that machine load affects both alike. A step is what the runner
does per iteration: ``model.train_step`` (preprocess, forward, backward,
optimiser step with gradient clipping) plus, for DARTH, the EMA teacher
update. Batches are loaded before timing starts.
"""
import statistics
import time
from typing import Callable, Dict, List

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
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


def _stepper(cfg: Config, checkpoint: str, device: str,
             ema: bool) -> Callable[[dict], None]:
    model = MODELS.build(cfg.model)
    model.init_weights()
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.to(device).train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    pairs = list((t, s) for _, t, s in teacher_student_tensors(model)) \
        if ema else []

    def step(batch: dict) -> None:
        model.train_step(batch, optim)
        if pairs:
            ema_update_(pairs, 0.002)
        if device.startswith('cuda'):
            torch.cuda.synchronize()

    return step


def benchmark(source_cfg: Config, darth_cfg: Config, checkpoint: str,
              iters: int = 20, warmup: int = 3, batch_size: int = 2,
              device: str = 'cpu', seed: int = 0) -> Dict[str, float]:
    """Median step times (seconds) and their ratio ``darth / qdtrack``."""
    register_all_modules(init_default_scope=True)
    for cfg in (source_cfg, darth_cfg):
        cfg.train_dataloader.batch_size = batch_size
    n = iters + warmup
    steps = dict(
        qdtrack=(_stepper(source_cfg, checkpoint, device, ema=False),
                 _batches(source_cfg, n, batch_size, seed)),
        darth=(_stepper(darth_cfg, checkpoint, device, ema=True),
               _batches(darth_cfg, n, batch_size, seed)))
    times: Dict[str, List[float]] = dict(qdtrack=[], darth=[])
    for i in range(n):
        for name, (step, batches) in steps.items():
            start = time.perf_counter()
            step(batches[i])
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    result = {f'{k}_step_s': statistics.median(v) for k, v in times.items()}
    result['ratio'] = result['darth_step_s'] / result['qdtrack_step_s']
    return result
