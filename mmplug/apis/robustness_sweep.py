"""The robustness sweep: ImageNet-C shifts x methods x seeds.

For every seed, one source model (trained on the clean source split, or
given) is adapted with every method to every corrupted copy of the target
root (``<root>-C/<corruption>-<severity>``, made by :func:`corrupted_root`)
on its unlabelled adaptation split, and tested on its test split. Each cell
(shift, method, seed) caches its runs under ``WORK/<shift>/<method>/
seed<k>/{adapt,test}/<key>/``, keyed by everything that determines them
(:mod:`.experiment`): a killed sweep continues where it stopped, and a sweep
with other inputs in the same work dir computes the cells they change (and
only those) beside the old ones, never mixing them into a table. The results are
``WORK/results.json`` (mean and sample std over seeds, percent),
``WORK/results.md`` (tables: shifts x methods) and ``WORK/results.png``
(grouped HOTA bars with std error bars).
"""
import os.path as osp
import time
from dataclasses import asdict
from typing import Dict, List, Optional, Sequence

from mmplug.datasets.corruptions import check_corruption, family_of
from mmplug.utils.io import dump_json_atomic, write_atomic
from .demo import corrupted_root, make_synthetic_sets
from .cache_key import code_version
from .experiment import (METHODS, METRICS, MIN_SOURCE_HOTA, QUICK_OPTIONS,
                         QUICK_SIZES, Configs, Experiment, aggregate,
                         check_methods, img_dir, log, mean_std)

# one or two per family, none of them the demo's (tuning) shift, fog
DEFAULT_CORRUPTIONS = ('gaussian_noise', 'defocus_blur', 'motion_blur',
                       'snow', 'frost', 'contrast')
DEFAULT_METHODS = ('source', 'adabn', 'darth')


class Progress:
    """A line per cell with an ETA for the whole sweep, from the mean time
    of the cells of the same method computed so far."""

    def __init__(self, cells: Sequence[tuple]) -> None:
        self.total = len(cells)
        self.remaining = [c[1] for c in cells]
        self.done = 0
        self.times: Dict[str, List[float]] = {}

    def finished(self, cell: tuple, seconds: float, cached: bool,
                 hota: float) -> None:
        shift, method, seed = cell
        self.done += 1
        self.remaining.remove(method)
        if not cached:
            self.times.setdefault(method, []).append(seconds)
        every = [t for ts in self.times.values() for t in ts]
        fallback = sum(every) / len(every) if every else 0.0
        eta = sum(
            sum(self.times[m]) / len(self.times[m]) if m in self.times
            else fallback for m in self.remaining)
        how = 'cached' if cached else f'{seconds / 60:.1f} min'
        log(f'[cell {self.done}/{self.total}] {shift} {method} seed {seed}: '
            f'HOTA {hota:.1f} ({how}; sweep ETA {eta / 60:.0f} min)')


# the clean data as a reference row: adaptation should not hurt there; it
# is kept out of the mean over shifts
CLEAN = 'none'


def shift_names(corruptions: Sequence[str],
                severities: Sequence[int]) -> List[str]:
    """``<corruption>-<severity>`` names (and ``none``, once, for the clean
    data)."""
    names = []
    for c in corruptions:
        if c == CLEAN:
            names.append(CLEAN)
            continue
        for s in severities:
            check_corruption(c, s)
            names.append(f'{c}-{s}')
    return list(dict.fromkeys(names))


def run_sweep(work_dir: str,
              corruptions: Sequence[str] = DEFAULT_CORRUPTIONS,
              severities: Sequence[int] = (3, ),
              methods: Sequence[str] = DEFAULT_METHODS,
              seeds: Sequence[int] = (0, ),
              data_root: Optional[str] = None,
              source_root: Optional[str] = None,
              configs: Optional[Configs] = None,
              source_split: str = 'train',
              adapt_split: str = 'train',
              test_split: str = 'val',
              source_checkpoint: Optional[str] = None,
              quick: bool = False,
              workers: int = 1,
              darth_options: Sequence[str] = (),
              min_source_hota: float = MIN_SOURCE_HOTA,
              transductive: bool = False) -> Dict:
    """Run (or continue) the sweep; returns the results of results.json.

    Args:
        work_dir (str): Cells and results.
        corruptions, severities: The shifts (ImageNet-C names, 1..5).
        methods: Names of :data:`mmplug.apis.experiment.METHODS`.
        seeds: One source model per seed (unless ``source_checkpoint``).
        data_root (str, optional): Clean MOTChallenge-layout target root
            with annotations (mot2coco.py); its corrupted copies are the
            target domains. None: the embedded synthetic set.
        source_root (str, optional): Labelled source root; defaults to
            ``data_root`` (the synthetic source set when that is None).
        configs (Configs, optional): Configs to run (relative paths: to the
            current folder); default: the CPU ones.
        source_split, adapt_split, test_split: Annotation splits.
        source_checkpoint (str, optional): Skip source training.
        quick (bool): Tiny synthetic data, no dataloader workers (tests).
        workers (int): Processes that corrupt the data.
        darth_options (Sequence[str]): Extra ``--cfg-options`` of every
            offline DARTH run (the methods on the ``darth`` config), e.g.
            ``train_cfg.max_epochs=1`` for a shorter schedule; recorded in
            ``results.json`` (their cells are keyed apart).
        min_source_hota (float): Stop, naming the checkpoint, when a
            source model's HOTA on the clean test split of the source root
            is below this (a collapsed training): its cells would be noise.
        transductive (bool): Allow adaptation splits that share frames with
            the test split (DARTH's protocol); refused otherwise.
    """
    methods = check_methods(methods)
    shifts = shift_names(corruptions, severities)
    if data_root is None:
        sizes = QUICK_SIZES if quick else {}
        roots = make_synthetic_sets(
            osp.join(work_dir, 'data') if quick else 'data/synth', **sizes)
        data_root, source_root = roots['target'], roots['source']
    # absolute, as the data roots (recorded in results.json)
    config_paths = {k: osp.abspath(v)
                    for k, v in asdict(configs or Configs()).items()}
    exp = Experiment(source_root or data_root, Configs(**config_paths),
                     source_split, adapt_split, test_split,
                     source_checkpoint, QUICK_OPTIONS if quick else [],
                     min_source_hota, transductive)
    cells = [(shift, m, seed) for seed in seeds for shift in shifts
             for m in methods]
    progress = Progress(cells)
    log(f'{len(cells)} cells: {len(shifts)} shifts x {len(methods)} '
        f'methods x {len(seeds)} seeds')
    results: Dict[tuple, Dict] = {}
    for seed in seeds:
        ckpt, clean = exp.checked_source_model(
            osp.join(work_dir, 'source', f'seed{seed}'), seed)
        log(f'source model seed {seed}: HOTA {clean["HOTA"]} on its clean '
            f'{test_split} split')
        for shift in shifts:
            target = data_root if shift == CLEAN else corrupted_root(
                data_root, *_corruption(shift), workers=workers,
                splits=sorted({img_dir(adapt_split), img_dir(test_split)}),
                split_train=any(s.startswith('half-')
                                for s in (adapt_split, test_split)))
            for method in methods:
                cell_dir = osp.join(work_dir, shift, method, f'seed{seed}')
                steps, start = exp.steps_run, time.time()
                extra = darth_options \
                    if METHODS[method].config == 'darth' else ()
                results[(shift, method, seed)] = exp.run(
                    method, ckpt, target, cell_dir, seed, extra=extra)
                progress.finished((shift, method, seed),
                                  time.time() - start,
                                  exp.steps_run == steps,
                                  results[(shift, method, seed)]['HOTA'])
    out = summarize(results, shifts, methods, seeds)
    out['meta'] = dict(
        seeds=list(seeds), severities=list(severities),
        darth_options=list(darth_options), configs=config_paths,
        data_root=osp.abspath(data_root),
        source_root=osp.abspath(exp.source_root),
        splits=dict(source=source_split, adapt=adapt_split, test=test_split),
        source_checkpoint=source_checkpoint, quick=quick,
        transductive=transductive,
        adapted_on_test_frames=sorted(exp.adapted_on_test_frames),
        code=code_version(),
        seed_changes='adaptation only (one given source model)'
        if source_checkpoint else 'source training and adaptation',
        std='sample standard deviation over the seeds; the mean row '
        'averages each seed over the shifts first')
    dump_json_atomic(out, osp.join(work_dir, 'results.json'), indent=2)
    write_atomic(osp.join(work_dir, 'results.md'),
                 format_markdown(out, shifts, methods).encode())
    plot(out, shifts, methods, osp.join(work_dir, 'results.png'))
    log(f'wrote {osp.join(work_dir, "results.json")}, results.md and '
        'results.png')
    return out


def _corruption(shift: str) -> tuple:
    corruption, severity = shift.rsplit('-', 1)
    return corruption, int(severity)


def summarize(results: Dict[tuple, Dict], shifts: Sequence[str],
              methods: Sequence[str], seeds: Sequence[int]) -> Dict:
    """``{shift: {method: {metric: mean_std}}, 'mean': {...}}``; the mean
    over the corrupted shifts (``none`` is not one) is taken per seed, then
    over seeds."""
    out: Dict = {}
    for shift in shifts:
        out[shift] = {
            m: aggregate([results[(shift, m, s)] for s in seeds])
            for m in methods
        }
    corrupted = [sh for sh in shifts if sh != CLEAN]
    if not corrupted:
        return out
    out['mean'] = {}
    for m in methods:
        out['mean'][m] = {
            k: mean_std([
                round(sum(results[(sh, m, s)][k] for sh in corrupted) /
                      len(corrupted), 2) for s in seeds
            ]) for k in METRICS
        }
    return out


def _rows(out: Dict, shifts: Sequence[str]) -> List[str]:
    return list(shifts) + (['mean'] if 'mean' in out else [])


def format_markdown(out: Dict, shifts: Sequence[str],
                    methods: Sequence[str],
                    metrics: Sequence[str] = ('HOTA', 'MOTA', 'IDF1')
                    ) -> str:
    meta = out.get('meta', {})
    lines = [
        '# Robustness sweep', '',
        f'Seeds {meta.get("seeds")}, mean ± std over seeds '
        f'({meta.get("std", "")}); percent.', ''
    ]
    for metric in metrics:
        lines += [f'## {metric}', '',
                  '| shift | family | ' + ' | '.join(methods) + ' |',
                  '| --- | --- | ' + ' | '.join('---' for _ in methods) +
                  ' |']
        for shift in _rows(out, shifts):
            labels = dict(mean='', none='clean, not in the mean')
            family = labels[shift] if shift in labels else family_of(
                _corruption(shift)[0])
            cells = [f'{out[shift][m][metric]["mean"]:.1f} ± '
                     f'{out[shift][m][metric]["std"]:.1f}' for m in methods]
            name = f'**{shift}**' if shift == 'mean' else shift
            lines.append(f'| {name} | {family} | ' + ' | '.join(cells) +
                         ' |')
        lines.append('')
    return '\n'.join(lines)


def plot(out: Dict, shifts: Sequence[str], methods: Sequence[str],
         path: str) -> None:
    """Grouped bars: HOTA per shift (and the mean) and method, std error
    bars; written atomically."""
    import io

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    groups = _rows(out, shifts)
    x = np.arange(len(groups))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(groups)), 4), dpi=120)
    for i, m in enumerate(methods):
        means = [out[g][m]['HOTA']['mean'] for g in groups]
        stds = [out[g][m]['HOTA']['std'] for g in groups]
        ax.bar(x + (i - (len(methods) - 1) / 2) * width, means, width,
               yerr=stds, capsize=2, label=m)
    seeds = out.get('meta', {}).get('seeds', [])
    ax.set_xticks(x, [g.replace('_', ' ') for g in groups], rotation=20,
                  ha='right')
    ax.set_ylabel('HOTA (%)')
    ax.set_title(f'Tracking under ImageNet-C shifts: HOTA, mean ± std over '
                 f'{len(seeds)} seed(s)')
    if 'mean' in out:
        ax.axvline(len(shifts) - 0.5, color='grey', lw=0.8, ls='--')
    ax.legend(ncol=len(methods), fontsize=8, loc='upper right')
    ax.set_ylim(0, 100)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png')
    plt.close(fig)
    write_atomic(path, buf.getvalue())
