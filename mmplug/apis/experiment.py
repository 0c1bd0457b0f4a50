"""Test-time adaptation experiments: what the demo and the sweep run.

Train a source model, adapt it with a method on unlabelled target frames,
test it; each of these is a cached step (:mod:`.steps`).
"""
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .cache_key import check_disjoint
from .config_files import get_config_file
from .runner import load_config
from .steps import (METRICS, final_checkpoint, log, log_command,  # noqa
                    parse_options, test, train)
# tiny synthetic data and no dataloader workers: the quick setting (tests)
QUICK_SIZES = dict(size=96, train_videos=2, val_videos=1, frames=8,
                   target_train_videos=2)
QUICK_OPTIONS = [
    f'{split}_dataloader.{key}'
    for split in ('train', 'test')
    for key in ('num_workers=0', 'persistent_workers=False')
]


def _config(name: str):
    return field(default_factory=lambda: get_config_file(name))


@dataclass
class Configs:
    """The configs an experiment runs (default: the CPU synthetic ones
    installed with the package)."""
    source: str = _config('qdtrack/qdtrack_faster-rcnn_r18_fpn_2xb2-cpu_'
                          'synth.py')
    darth: str = _config('darth/darth_faster-rcnn_r18_fpn_cpu_synth-none-'
                         'to-fog.py')
    adabn: str = _config('adabn/adabn_faster-rcnn_r18_fpn_cpu_synth-none-'
                         'to-fog.py')
    online: str = _config('darth/darth-online_faster-rcnn_r18_fpn_cpu_'
                          'synth-none-to-fog.py')


@dataclass(frozen=True)
class Method:
    """How a method adapts: ``kind`` is ``'source'`` (no adaptation),
    ``'offline'`` (a training run on the unlabelled adaptation split, then
    a test run) or ``'online'`` (one test run that adapts while tracking);
    ``config`` names a field of :class:`Configs`; ``options`` are extra
    ``--cfg-options``."""
    kind: str
    config: str = ''
    options: Tuple[str, ...] = ()
    help: str = ''

METHODS: Dict[str, Method] = {
    'source': Method('source', 'source', help='the source model, unadapted'),
    'adabn': Method('offline', 'adabn',
                    help='AdaBN: backbone BN statistics from the target'),
    'darth': Method('offline', 'darth', help='DARTH (the default config)'),
    'darth-no-rpn': Method('offline', 'darth',
                           ('model.loss_rpn_distillation=None', ),
                           'DARTH without RPN distillation'),
    'darth-no-roi': Method('offline', 'darth',
                           ('model.loss_roi_distillation=None', ),
                           'DARTH without RoI distillation'),
    'darth-no-pcl': Method('offline', 'darth', ('model.with_pcl=False', ),
                           'DARTH without the patch contrastive loss'),
    'darth-source-bn': Method('offline', 'darth',
                              ('train_cfg.bn_stats=source', ),
                              'DARTH as published: source BN statistics'),
    'darth-scaled-lr': Method('offline', 'darth',
                              ('auto_scale_lr.enable=True', ),
                              "DARTH with its lr scaled to the batch (0.002 "
                              'at 16 frames)'),
    'darth-online': Method('online', 'online',
                           help='online DARTH, one pass while tracking'),
    'darth-online-continual': Method('online', 'online',
                                     ('test_cfg.reset=never', ),
                                     'online DARTH without resets between '
                                     'videos (continual)'),
    'darth-online-every': Method('online', 'online',
                                 ('test_cfg.skip_conf_thr=None', ),
                                 'online DARTH without the skip rule'),
    'online-bn': Method('online', 'online', ('test_cfg.skip_conf_thr=0.0', ),
                        'online BN statistics only (no gradient step)'),
}


def check_methods(names: Sequence[str]) -> List[str]:
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise ValueError(f'unknown method(s) {unknown}; valid: '
                         f'{", ".join(METHODS)}')
    return list(names)


def img_dir(split: str) -> str:
    """Image folder of an annotation split (mot2coco's half splits come
    from ``train``)."""
    return 'train' if split in ('half-train', 'half-val') else split


def split_options(loader: str, root: str, split: str) -> List[str]:
    """``--cfg-options`` that point ``<loader>_dataloader`` at a split
    (training runs point ``val`` too: the runner builds its dataset, and
    checks its files, even when no validation is due)."""
    key = f'{loader}_dataloader.dataset'
    return [
        f'{key}.data_root={osp.abspath(root)}/',
        f'{key}.ann_file=annotations/{split}_cocoformat.json',
        f'{key}.data_prefix.img_path={img_dir(split)}/'
    ]


# below this HOTA on its own clean test split a source model tracks (almost)
# nothing: a working synthetic source model reaches ~60, a collapsed one 0
MIN_SOURCE_HOTA = 1.0


class SourceModelError(RuntimeError):
    """A source model that tracks (almost) nothing on clean data."""


def check_source_model(metrics: Dict[str, float], ckpt: str, where: str,
                       min_hota: float = MIN_SOURCE_HOTA) -> None:
    """Refuse a source model whose HOTA on clean data (``where``) is below
    ``min_hota``: every adaptation table made from it would be noise.

    Raises:
        SourceModelError: Naming the checkpoint, its HOTA and what to do.
    """
    if metrics['HOTA'] >= min_hota:
        return
    raise SourceModelError(
        f'source model {ckpt} reaches HOTA {metrics["HOTA"]:.1f} (< '
        f'{min_hota}) on {where}: it tracks (almost) nothing, so nothing '
        'adapted from it can be compared. Most likely its training '
        'collapsed: in its training log the RoI classifier `acc` stays at '
        "the background share (~75) and `loss_bbox` does not fall; "
        'the RoI-unit counter (roi_head_units.py) counts the dead ReLU '
        'units of its RoI head (in the collapse we saw, 87 % of the second '
        'FC). Train it with another seed (or a lower '
        'optim_wrapper.optimizer.lr or a longer warm-up), or give the sweep '
        'a working one (--source-checkpoint).')


@dataclass
class Experiment:
    """Source data, target data and splits of one adaptation experiment.

    Args:
        source_root (str): Labelled source root (COCO-video annotations).
        configs (Configs): The configs to run.
        source_split, adapt_split, test_split (str): Annotation splits:
            source training, unlabelled adaptation (target), test (target).
        source_checkpoint (str, optional): Use this source model instead of
            training one per seed (then a seed changes adaptation only).
        quick (list[str]): Extra ``--cfg-options`` for every run (tests).
        min_source_hota (float): :meth:`checked_source_model` refuses a
            source model below this HOTA on its clean test split.
        transductive (bool): Allow adaptation frames that are test frames
            (DARTH's protocol adapts on its test set); without it such a run
            is refused (a config may also declare ``transductive = True``).

    Attributes:
        steps_run (int): Steps computed now (not reused from the cache).
        test_dirs (dict): Cell folder -> keyed folder of its test run.
        adapted_on_test_frames (set): Methods whose adaptation frames were
            test frames (allowed by ``transductive``).
    """
    source_root: str
    configs: Configs = field(default_factory=Configs)
    source_split: str = 'train'
    adapt_split: str = 'train'
    test_split: str = 'val'
    source_checkpoint: Optional[str] = None
    quick: List[str] = field(default_factory=list)
    min_source_hota: float = MIN_SOURCE_HOTA
    transductive: bool = False
    steps_run: int = field(default=0, init=False)
    test_dirs: Dict[str, str] = field(default_factory=dict, init=False)
    adapted_on_test_frames: set = field(default_factory=set, init=False)

    def _train(self, *args, **kwargs) -> str:
        ckpt, ran = train(*args, **kwargs)
        self.steps_run += ran
        return ckpt

    def _test(self, config: str, ckpt: str, cell_dir: str,
              options: Sequence[str], out_dir: bool) -> Dict[str, float]:
        metrics, run_dir, ran = test(config, ckpt, cell_dir, options, out_dir)
        self.steps_run += ran
        self.test_dirs[cell_dir] = run_dir
        return metrics

    def source_model(self, work_dir: str, seed: int) -> str:
        if self.source_checkpoint:
            return self.source_checkpoint
        return self._train(
            self.configs.source, work_dir,
            split_options('train', self.source_root, self.source_split) +
            split_options('val', self.source_root, self.test_split) +
            [f'randomness.seed={seed}'] + self.quick)

    def checked_source_model(self, work_dir: str,
                             seed: int) -> Tuple[str, Dict[str, float]]:
        """:meth:`source_model`, tested on the source root's clean test
        split (cached in ``work_dir/clean_test``) and refused by
        :func:`check_source_model` when it tracks nothing there; returns
        the checkpoint and those metrics."""
        ckpt = self.source_model(work_dir, seed)
        clean = self.test_source(ckpt, self.source_root,
                                 osp.join(work_dir, 'clean_test'))
        check_source_model(
            clean, ckpt, f'the clean {self.test_split} split of '
            f'{self.source_root}', self.min_source_hota)
        return ckpt, clean

    def test_source(self, ckpt: str, root: str, work_dir: str,
                    out_dir: bool = False) -> Dict[str, float]:
        return self._test(self.configs.source, ckpt, work_dir,
                          split_options('test', root, self.test_split) +
                          self.quick, out_dir)

    def check_frames(self, method: str, config: str,
                     adapt_options: Sequence[str],
                     test_options: Sequence[str]) -> None:
        """Refuse a method whose adaptation frames are test frames unless
        the experiment or the config says ``transductive``."""
        adapt_cfg = load_config(config, parse_options(adapt_options))
        test_cfg = load_config(config, parse_options(test_options))
        allowed = self.transductive or bool(adapt_cfg.get('transductive'))
        if check_disjoint(adapt_cfg, test_cfg, allowed, f'method {method}'):
            self.adapted_on_test_frames.add(method)

    def run(self, method: str, ckpt: str, target_root: str, work_dir: str,
            seed: int, out_dir: bool = False,
            extra: Sequence[str] = ()) -> Dict[str, float]:
        """Adapt the source checkpoint with ``method`` on the target root's
        adaptation split and test it on its test split (cached). ``extra``:
        more ``--cfg-options`` of the method's runs."""
        spec = METHODS[method]
        test_opts = split_options('test', target_root, self.test_split)
        if spec.kind == 'source':
            return self.test_source(ckpt, target_root,
                                    osp.join(work_dir, 'test'), out_dir)
        config = getattr(self.configs, spec.config)
        options = list(spec.options) + list(extra) + self.quick
        seeded = [f'randomness.seed={seed}'] + options
        if spec.kind == 'online':
            return self._test(config, ckpt, osp.join(work_dir, 'test'),
                              test_opts + seeded, out_dir)
        adapt_opts = split_options('train', target_root, self.adapt_split) + \
            split_options('val', target_root, self.test_split) + seeded
        self.check_frames(method, config, adapt_opts, test_opts + options)
        adapted = self._train(config, osp.join(work_dir, 'adapt'),
                              adapt_opts, load_from=ckpt)
        return self._test(config, adapted, osp.join(work_dir, 'test'),
                          test_opts + options, out_dir)


def mean_std(values: Sequence[float]) -> Dict:
    """Mean and sample standard deviation (ddof=1; 0 for one value)."""
    import statistics
    values = list(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return dict(mean=round(statistics.fmean(values), 2), std=round(std, 2),
                n=len(values), runs=values)


def aggregate(per_seed: Sequence[Dict[str, float]]) -> Dict[str, Dict]:
    """{metric: mean_std over seeds} for the metrics all runs have."""
    keys = [k for k in per_seed[0] if all(k in r for r in per_seed)]
    return {k: mean_std([r[k] for r in per_seed]) for k in keys}


def gap_in_std(a: Dict, b: Dict) -> float:
    """(mean_a - mean_b) in units of the pooled standard deviation
    ``sqrt((std_a^2 + std_b^2) / 2)`` (inf when both are 0)."""
    pooled = ((a['std']**2 + b['std']**2) / 2)**0.5
    diff = a['mean'] - b['mean']
    if pooled > 0:
        return diff / pooled
    return 0.0 if diff == 0 else math.copysign(math.inf, diff)
