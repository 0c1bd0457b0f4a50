"""Test-time adaptation experiments from the user-facing tools.

The building blocks of ``tools/demo.py`` and of the robustness sweep
(``tools/analysis_tools/tta_benchmark.py``): train a source model, adapt it
with a method on unlabelled target frames, test it, each step one
``tools/train.py`` / ``tools/test.py`` run in a subprocess (the commands a
user would type, printed before they run). Every result is written
atomically and reused when present, so an interrupted experiment continues
where it stopped.
"""
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from mmplug.utils.io import dump_json_atomic

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
METRICS = ('HOTA', 'MOTA', 'IDF1', 'DetA', 'AssA')


@dataclass
class Configs:
    """The configs an experiment runs (default: the CPU synthetic ones)."""
    source: str = osp.join(CONFIGS, 'qdtrack',
                           'qdtrack_faster-rcnn_r18_fpn_2xb2-cpu_synth.py')
    darth: str = osp.join(CONFIGS, 'darth',
                          'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')
    adabn: str = osp.join(CONFIGS, 'adabn',
                          'adabn_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')
    online: str = osp.join(
        CONFIGS, 'darth',
        'darth-online_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')


@dataclass(frozen=True)
class Method:
    """How a method adapts: ``kind`` is ``'source'`` (no adaptation),
    ``'offline'`` (a ``tools/train.py`` run on the unlabelled adaptation
    split, then ``tools/test.py``) or ``'online'`` (one ``tools/test.py``
    run that adapts while tracking); ``config`` names a field of
    :class:`Configs`; ``options`` are extra ``--cfg-options``."""
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


def log(msg: str) -> None:
    print(f'[tta {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def run_tool(args: List[str]) -> None:
    """Run a tools/ script with this interpreter, streaming its output."""
    cmd = [sys.executable] + args
    log('$ ' + ' '.join(cmd))
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    subprocess.run(cmd, cwd=REPO, env=env, check=True)


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


def final_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` names, if the run finished it."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        path = f.read().strip()
    return path if osp.isfile(path) else None


def train(config: str, work_dir: str, options: Sequence[str]) -> str:
    """``tools/train.py`` unless its final checkpoint exists; returns it."""
    done = osp.join(work_dir, 'done.json')
    if osp.isfile(done):
        with open(done) as f:
            ckpt = json.load(f)['checkpoint']
        if osp.isfile(ckpt):
            log(f'reusing {ckpt}')
            return ckpt
    # an interrupted run continues from its last checkpoint
    resume = ['--resume'] if final_checkpoint(work_dir) else []
    run_tool([osp.join('tools', 'train.py'), config, '--work-dir', work_dir]
             + resume + ['--cfg-options'] + list(options))
    ckpt = final_checkpoint(work_dir)  # train.py ended without an error
    if ckpt is None:
        raise RuntimeError(f'training in {work_dir} left no checkpoint')
    dump_json_atomic(dict(checkpoint=ckpt), done)
    return ckpt


def test(config: str, ckpt: str, work_dir: str, options: Sequence[str],
         out_dir: bool = False) -> Dict[str, float]:
    """``tools/test.py`` unless its result exists; metrics in percent (and
    ``adapted_fraction`` for online runs)."""
    result = osp.join(work_dir, 'result.json')
    if osp.isfile(result):
        with open(result) as f:
            return json.load(f)
    args = [osp.join('tools', 'test.py'), config, ckpt, '--work-dir',
            work_dir]
    if out_dir:
        tracks = osp.join(work_dir, 'tracks')
        if osp.isdir(tracks):  # an interrupted run's output (ours)
            import shutil
            shutil.rmtree(tracks)
        args += ['--out-dir', tracks]
    run_tool(args + ['--cfg-options'] + list(options))
    with open(osp.join(work_dir, 'metrics.json')) as f:
        metrics = json.load(f)
    out = {k: round(100 * metrics[k], 2) for k in METRICS}
    if 'adapted_fraction' in metrics:
        out['adapted_fraction'] = round(metrics['adapted_fraction'], 4)
    dump_json_atomic(out, result, indent=2)
    return out


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
        'tools/analysis_tools/roi_head_units.py counts the dead ReLU units '
        'of its RoI head (in the collapse we saw, 87 % of the second FC). '
        'Train it with another seed (or a lower optim_wrapper.optimizer.lr '
        'or a longer warm-up), or '
        'give the sweep a working one (tta_benchmark.py '
        '--source-checkpoint).')


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
    """
    source_root: str
    configs: Configs = field(default_factory=Configs)
    source_split: str = 'train'
    adapt_split: str = 'train'
    test_split: str = 'val'
    source_checkpoint: Optional[str] = None
    quick: List[str] = field(default_factory=list)
    min_source_hota: float = MIN_SOURCE_HOTA

    def source_model(self, work_dir: str, seed: int) -> str:
        if self.source_checkpoint:
            return self.source_checkpoint
        return train(
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
        return test(self.configs.source, ckpt, work_dir,
                    split_options('test', root, self.test_split) +
                    self.quick, out_dir)

    def source_stats_options(self, config: str) -> List[str]:
        """``--cfg-options`` that point a config's
        ``train_cfg.source_stats_dataloader`` (the source frames of
        ``loss_feat_align``) at the source root and split; none when the
        config has no such loader."""
        from mmengine.config import Config
        loader = Config.fromfile(config).get('train_cfg', {}).get(
            'source_stats_dataloader')
        if not loader:
            return []
        return [o.replace('train_dataloader.',
                          'train_cfg.source_stats_dataloader.', 1)
                for o in split_options('train', self.source_root,
                                       self.source_split)]

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
            return test(config, ckpt, osp.join(work_dir, 'test'),
                        test_opts + seeded, out_dir)
        adapted = train(
            config, osp.join(work_dir, 'adapt'),
            split_options('train', target_root, self.adapt_split) +
            split_options('val', target_root, self.test_split) +
            self.source_stats_options(config) +
            [f'load_from={osp.abspath(ckpt)}'] + seeded)
        return test(config, adapted, osp.join(work_dir, 'test'),
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
