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
import os.path as osp
import statistics
import time
from typing import Dict, List, Optional, Tuple

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
from .runner import release_visualizer


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
    teacher / student model), counting the steps taken.

    Args:
        cfg (Config): The model's config (``model``, ``optim_wrapper``).
        checkpoint (str): Source weights to start from.
        device (str): ``'cpu'`` or ``'cuda[:k]'``.
        ema_momentum (float): Student weight of the EMA teacher update.
        amp (bool): Mixed precision (mmengine's ``AmpOptimWrapper``, as
            the train command's ``--amp``).
    """

    def __init__(self, cfg: Config, checkpoint: str, device: str,
                 ema_momentum: float = 0.002, amp: bool = False) -> None:
        self.model = MODELS.build(without_pretrained(cfg.model))
        self.model.init_weights()
        load_checkpoint(self.model, checkpoint, map_location='cpu',
                        logger='silent')
        self.model.to(device).train()
        optim_cfg = copy.deepcopy(cfg.optim_wrapper)
        if amp:
            optim_cfg.type = 'AmpOptimWrapper'
            optim_cfg.setdefault('loss_scale', 'dynamic')
        self.optim = build_optim_wrapper(self.model, optim_cfg)
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

    def resident_bytes(self) -> int:
        """Bytes the model keeps between steps: parameters, buffers,
        gradients and optimiser state."""
        tensors = list(self.model.parameters()) + list(self.model.buffers())
        tensors += [p.grad for p in self.model.parameters()
                    if p.grad is not None]
        tensors += [v for state in self.optim.optimizer.state.values()
                    for v in state.values() if torch.is_tensor(v)]
        return sum(t.numel() * t.element_size() for t in tensors)


def without_pretrained(cfg):
    """A copy of a model config whose ``Pretrained`` ``init_cfg`` entries
    are None: the benchmark loads its own weights, and the real-data
    configs point ``init_cfg`` at local files that need not exist."""
    cfg = copy.deepcopy(cfg)

    def strip(node):
        if isinstance(node, dict):
            init = node.get('init_cfg')
            if isinstance(init, dict) and init.get('type') == 'Pretrained':
                node['init_cfg'] = None
            for value in node.values():
                strip(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                strip(value)

    strip(cfg)
    return cfg


def random_source_checkpoint(source_cfg: Config, path: str,
                             seed: int = 0) -> str:
    """Save the source model with seeded random weights (its own init) to
    ``path``: step times do not depend on the weights' values."""
    register_all_modules(init_default_scope=True)
    torch.manual_seed(seed)
    model = MODELS.build(without_pretrained(source_cfg.model))
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


# transforms after which a frame of the data set has its final size
_LOADERS = ('LoadImageFromFile', 'LoadCheckedImageFromFile',
            'LoadTrackAnnotations', 'LoadAnnotations')


def with_frame_size(pipeline: list, size: Tuple[int, int]) -> list:
    """A copy of ``pipeline`` that resizes every loaded frame (and its
    boxes) to ``size`` = (w, h) right after loading, so square synthetic
    frames stand for real frames of that size (e.g. MOT17's 1920 x 1080)
    in front of the config's own resizing."""
    out = []
    for transform in pipeline:
        transform = copy.deepcopy(transform)
        inner = transform.get('transforms')
        if isinstance(inner, list):  # TransformBroadcaster, Compose-likes
            transform['transforms'] = with_frame_size(inner, size)
        out.append(transform)
    loads = [i for i, t in enumerate(out) if t.get('type') in _LOADERS]
    if loads:
        out.insert(loads[-1] + 1,
                   dict(type='Resize', scale=tuple(size), keep_ratio=False))
    return out


# what the step benchmark's ``--preset`` runs (configs installed with the
# package): the CPU synthetic configs on the demo's data, or the R50 MOT17
# configs at MOT17's frame size on synthetic frames (nothing to download;
# random weights)
PRESETS = dict(
    synth=dict(
        source='qdtrack/qdtrack_faster-rcnn_r18_fpn_2xb2-cpu_synth.py',
        darth='darth/darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py',
        frame_size=None),
    r50=dict(
        source='qdtrack/qdtrack_faster-rcnn_r50_fpn_8xb2-4e_mot17halftrain_'
        'test-mot17halfval.py',
        darth='darth/darth_faster-rcnn_r50_fpn_4e_mot17halfval.py',
        frame_size=(1920, 1080)))


def _point_train_at(cfg: Config, root: str, split: str = 'train') -> None:
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = osp.abspath(root) + '/'
    dataset.ann_file = f'annotations/{split}_cocoformat.json'
    dataset.data_prefix = dict(img_path=f'{split}/')


def preset_configs(preset: str, data_root: str,
                   frame_size: Optional[Tuple[int, int]] = None
                   ) -> Tuple[Config, Config]:
    """The (QDTrack, DARTH) configs of a preset, their train dataloaders
    pointed at data made under ``data_root`` if absent: for ``synth`` the
    demo's sets (source train; target fog-3 train), for ``r50`` two
    synthetic videos whose frames are resized to ``frame_size`` (default
    1920 x 1080) on loading."""
    if preset not in PRESETS:
        raise ValueError(f'preset must be one of {tuple(PRESETS)}, got '
                         f'{preset!r}')
    spec = PRESETS[preset]
    from .config_files import get_config_file
    source_cfg = Config.fromfile(get_config_file(spec['source']))
    darth_cfg = Config.fromfile(get_config_file(spec['darth']))
    if preset == 'synth':
        from .demo import corrupted_root, make_synthetic_sets
        roots = make_synthetic_sets(data_root)
        _point_train_at(source_cfg, roots['source'])
        _point_train_at(darth_cfg, corrupted_root(roots['target'], 'fog', 3))
    else:
        from mmplug.datasets.converters import convert_mot_root
        from mmplug.datasets.synthetic import make_synthetic_mot
        root = osp.join(data_root, 'benchmark-r50')
        if not osp.isfile(osp.join(root, 'annotations',
                                   'train_cocoformat.json')):
            make_synthetic_mot(osp.join(root, 'train'), 2, 8, 1088, seed=0)
            convert_mot_root(root, osp.join(root, 'annotations'))
        for cfg in (source_cfg, darth_cfg):
            _point_train_at(cfg, root)
    size = frame_size or spec['frame_size']
    if size:
        for cfg in (source_cfg, darth_cfg):
            dataset = cfg.train_dataloader.dataset
            dataset.pipeline = with_frame_size(dataset.pipeline, size)
    return source_cfg, darth_cfg


def benchmark(source_cfg: Config, darth_cfg: Config, checkpoint: str,
              iters: int = 20, warmup: int = 3, batch_size: int = 2,
              device: str = 'cpu', seed: int = 0,
              amp: bool = False) -> Dict:
    """Median step times (seconds) and their ratio ``darth / qdtrack``.

    Returns:
        dict: ``qdtrack_step_s``, ``darth_step_s``, ``ratio``, ``times``
        (the ``iters`` timed steps of each) and ``steppers`` (the two
        :class:`Stepper`, with their trained models); on CUDA also
        ``qdtrack_peak_mb`` / ``darth_peak_mb``: the peak GPU memory of a
        step of that model, without what the other model holds.
    """
    if iters < 1 or warmup < 0:
        raise ValueError(f'need iters >= 1 and warmup >= 0, got {iters}, '
                         f'{warmup}')
    register_all_modules(init_default_scope=True)
    for cfg in (source_cfg, darth_cfg):
        cfg.train_dataloader.batch_size = batch_size
    n = iters + warmup
    steppers = dict(qdtrack=Stepper(source_cfg, checkpoint, device, amp=amp),
                    darth=Stepper(darth_cfg, checkpoint, device, amp=amp))
    batches = dict(qdtrack=_batches(source_cfg, n, batch_size, seed),
                   darth=_batches(darth_cfg, n, batch_size, seed))
    cuda = device.startswith('cuda')
    times: Dict[str, List[float]] = dict(qdtrack=[], darth=[])
    peaks: Dict[str, int] = dict(qdtrack=0, darth=0)
    for i in range(n):
        for name, step in steppers.items():
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
            start = time.perf_counter()
            step(batches[name][i])
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
            if cuda:
                peaks[name] = max(peaks[name],
                                  torch.cuda.max_memory_allocated(device))
    result = {f'{k}_step_s': statistics.median(v) for k, v in times.items()}
    result['ratio'] = result['darth_step_s'] / result['qdtrack_step_s']
    if cuda:
        for name, other in (('qdtrack', 'darth'), ('darth', 'qdtrack')):
            own = peaks[name] - steppers[other].resident_bytes()
            result[f'{name}_peak_mb'] = own / 2**20
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
    release_visualizer(cfg)
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
