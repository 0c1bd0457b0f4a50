"""The embedded domain-shift demo behind ``make demo`` (the demo command).

1. make the synthetic source set (clean) and the target set (an ImageNet-C
   corruption of other videos; same val videos as the source), once;
2. per seed: train the source QDTrack and test it on the source val and
   target val splits;
3. adapt it to the target on the *unlabelled* target train split with
   AdaBN and offline DARTH, and online DARTH while tracking; test each on
   target val;
4. print a table and write ``<work-dir>/summary.json`` and its chart
   ``summary.png``: mean and standard deviation over the seeds (a seed
   changes the source training and every adaptation run; the data set is
   the same for every seed).

Source val and target val are the *same* videos (same seed), the target
under the corruption, so the gap measures the domain shift alone. Every step
is cached under the key of what determines it (:mod:`.experiment`): a demo
of another corruption in the same work dir reuses the source model and
computes every target cell anew.
"""
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

from mmplug.datasets.converters import convert_mot_root
from mmplug.datasets.converters.corrupt_mot import corrupt_mot_root
from mmplug.datasets.synthetic import make_synthetic_mot
from mmplug.utils.io import dump_json_atomic, file_lock, write_atomic
from .experiment import (MIN_SOURCE_HOTA, QUICK_OPTIONS, QUICK_SIZES,
                         Experiment, aggregate, check_methods,
                         check_source_model, log)
from .cache_key import code_version

REPORTED = ('HOTA', 'MOTA', 'IDF1')
# what the demo runs after source-on-source and source-on-target
DEMO_METHODS = ('adabn', 'darth', 'darth-online')
SEEDS = dict(source_train=0, val=1, target_train=2)


@dataclass
class SplitSpec:
    """What one cached synthetic split was made with."""
    num_videos: int
    frames: int
    size: int
    seed: int


def make_split(root: str, split: str, spec: SplitSpec) -> None:
    """Make ``root/<split>`` unless it exists with the same spec (cached)."""
    # another process (a second sweep lane) may be making the same split
    with file_lock(osp.join(root, f'.{split}.lock')):
        _make_split(root, split, spec)


def _make_split(root: str, split: str, spec: SplitSpec) -> None:
    import json
    import shutil
    folder = osp.join(root, split)
    stamp = osp.join(root, f'.{split}.json')
    if osp.isdir(folder) and osp.isfile(stamp):
        with open(stamp) as f:
            if json.load(f) == asdict(spec):
                return
    if osp.exists(folder):
        shutil.rmtree(folder)
    log(f'making {folder} ({spec.num_videos} videos x {spec.frames} '
        f'frames)')
    make_synthetic_mot(folder, spec.num_videos, spec.frames, spec.size,
                       seed=spec.seed)
    convert_mot_root(root, osp.join(root, 'annotations'), splits=[split])
    dump_json_atomic(asdict(spec), stamp)


def make_synthetic_sets(data_root: str = 'data/synth', size: int = 192,
                        train_videos: int = 8, val_videos: int = 4,
                        frames: int = 60,
                        target_train_videos: int = 4) -> Dict[str, str]:
    """The clean source root (train / val) and the clean target root whose
    corrupted copies are the target domains (other train videos, the same
    val videos); returns their paths. The target train split (the
    unlabelled frames adaptation runs on) is smaller than the source one:
    DARTH's 4 epochs over 4 x 60 frames (480 steps) fit the demo's time on
    2 cores."""
    source = osp.join(data_root, 'none')
    target = osp.join(data_root, 'target')
    val = SplitSpec(val_videos, frames, size, SEEDS['val'])
    make_split(source, 'train', SplitSpec(train_videos, frames, size,
                                          SEEDS['source_train']))
    make_split(source, 'val', val)
    make_split(target, 'train', SplitSpec(target_train_videos, frames, size,
                                          SEEDS['target_train']))
    make_split(target, 'val', val)
    return dict(source=source, target=target)


def _fingerprint(root: str, splits: Sequence[str]) -> str:
    """What a corrupted copy was made from: the sequence names and ground
    truth of the clean splits (a regenerated clean set invalidates it)."""
    import hashlib
    digest = hashlib.sha1()
    for split in sorted(splits):
        for seq in sorted(os.listdir(osp.join(root, split))):
            digest.update(f'{split}/{seq}\n'.encode())
            gt = osp.join(root, split, seq, 'gt', 'gt.txt')
            if osp.isfile(gt):
                with open(gt, 'rb') as f:
                    digest.update(f.read())
    return digest.hexdigest()


def corrupted_root(clean_root: str, corruption: str, severity: int,
                   seed: int = 0, workers: int = 1,
                   splits: Optional[Sequence[str]] = None,
                   split_train: bool = False) -> str:
    """``<clean_root>-C/<corruption>-<severity>``, made once (resumable).

    Args:
        splits (Sequence[str], optional): Split folders to corrupt (default:
            every folder of ``clean_root`` but ``annotations``).
        split_train (bool): Also write half-train / half-val annotations
            (``mot2coco.py --split-train``).
    """
    out = osp.join(f'{osp.normpath(clean_root)}-C',
                   f'{corruption}-{severity}')
    if splits is None:
        splits = [d for d in os.listdir(clean_root)
                  if d != 'annotations' and osp.isdir(osp.join(clean_root, d))]
    spec = dict(splits=sorted(splits), split_train=split_train, seed=seed,
                clean=_fingerprint(clean_root, splits))
    # another process (a second sweep lane) may be making the same copy
    with file_lock(f'{out}.lock'):
        return _corrupted_root(clean_root, corruption, severity, seed,
                               workers, split_train, out, spec)


def _corrupted_root(clean_root, corruption, severity, seed, workers,
                    split_train, out, spec) -> str:
    done = osp.join(out, 'annotations', '.done')
    if osp.isfile(done):
        import json
        with open(done) as f:
            made = json.load(f)
        if made == spec:
            return out
        if made.get('clean') != spec['clean']:  # made from other clean data
            import shutil
            log(f'{out} was made from other clean data: making it again')
            shutil.rmtree(out)
    log(f'making {out}')
    corrupt_mot_root(clean_root, out, corruption, severity, seed, workers,
                     splits=spec['splits'], split_train=split_train)
    dump_json_atomic(spec, done)
    return out


def result_name(method: str) -> str:
    """The summary key (and run folder) of a method on the target:
    ``adabn_on_target``, ``darth_on_target``, ``online_on_target`` (online
    DARTH), ``darth_no_rpn_on_target``, ..."""
    short = {'darth-online': 'online'}.get(method, method)
    return f'{short.replace("-", "_")}_on_target'


def format_table(summary: Dict) -> str:
    rows = [(k, v) for k, v in summary.items()
            if isinstance(v, dict) and 'HOTA' in v]
    head = f'{"model / eval set":<22}' + ''.join(f'{m:>15}' for m in REPORTED)
    lines = [head, '-' * len(head)]
    for name, metrics in rows:
        cells = ''.join(
            f'{metrics[m]["mean"]:>9.1f} ±{metrics[m]["std"]:>4.1f}'
            for m in REPORTED)
        lines.append(f'{name:<22}{cells}')
    return '\n'.join(lines)


def plot_summary(summary: Dict, path: str) -> str:
    """The summary's table as a chart: HOTA per row, mean ± std over the
    seeds (error bars); written atomically. Returns ``path``."""
    import io

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [(k, v['HOTA']) for k, v in summary.items()
            if isinstance(v, dict) and 'HOTA' in v]
    names = [k.replace('_on_', ' on ').replace('_', ' ') for k, _ in rows]
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(rows)), 3.6), dpi=120)
    ax.bar(range(len(rows)), [h['mean'] for _, h in rows],
           yerr=[h['std'] for _, h in rows], capsize=3,
           color=['grey', 'lightgrey'] + ['C0'] * (len(rows) - 2))
    ax.set_xticks(range(len(rows)), names, rotation=20, ha='right')
    ax.set_ylabel('HOTA (%)')
    ax.set_ylim(0, 100)
    ax.set_title(f'{summary["corruption"]}-{summary["severity"]}: HOTA, '
                 f'mean ± std over {len(summary["seeds"])} seed(s)')
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png')
    plt.close(fig)
    write_atomic(path, buf.getvalue())
    return path


def write_gif(source_dir: str, darth_dir: str, target_root: str) -> str:
    """Source-only vs. DARTH tracks on the first target val video (from the
    keyed test runs ``source_dir`` and ``darth_dir``)."""
    from mmplug.visualization import comparison_gif
    val = osp.join(target_root, 'val')
    seq = sorted(os.listdir(val))[0]
    results = {
        title: osp.join(run, 'tracks', 'default-tracker', f'{seq}.txt')
        for title, run in (('source only', source_dir), ('DARTH', darth_dir))
    }
    out = osp.join(osp.dirname(osp.dirname(osp.dirname(darth_dir))),
                   f'{seq}_source_vs_darth.gif')
    return comparison_gif(osp.join(val, seq, 'img1'), results, out)


def run_demo(work_dir: str = 'work_dirs/demo',
             corruption: str = 'fog',
             severity: int = 3,
             data_root: Optional[str] = None,
             seeds: Sequence[int] = (0, ),
             methods: Sequence[str] = DEMO_METHODS,
             darth_options: Optional[List[str]] = None,
             quick: bool = False,
             min_source_hota: float = MIN_SOURCE_HOTA) -> Dict:
    """The whole demo; returns the summary written to summary.json.

    Args:
        data_root (str, optional): Where the synthetic sets are cached
            (default ``data/synth``; quick: ``<work_dir>/data``).
        quick (bool): Tiny synthetic data, no dataloader workers (tests).
        min_source_hota (float): Refuse a source model below this HOTA on
            the clean source val set (the quick one tracks nothing: 0).
    """
    start = time.time()
    methods = check_methods(methods)
    if data_root is None:
        data_root = osp.join(work_dir, 'data') if quick else 'data/synth'
    roots = make_synthetic_sets(data_root, **(QUICK_SIZES if quick else {}))
    target = corrupted_root(roots['target'], corruption, severity)
    exp = Experiment(roots['source'], quick=QUICK_OPTIONS if quick else [])
    runs: Dict[str, List[Dict]] = {}
    record = runs.setdefault
    checkpoints = {}
    for seed in seeds:
        seed_dir = osp.join(work_dir, f'seed{seed}')
        ckpt = exp.source_model(osp.join(seed_dir, 'source'), seed)
        checkpoints[seed] = ckpt
        clean = exp.test_source(
            ckpt, roots['source'], osp.join(seed_dir, 'source_on_source',
                                            'test'))
        check_source_model(clean, ckpt, 'the clean source val set',
                           min_source_hota)
        record('source_on_source', []).append(clean)
        record('source_on_target', []).append(
            exp.run('source', ckpt, target,
                    osp.join(seed_dir, 'source_on_target'), seed,
                    out_dir=True))
        for method in methods:
            name = result_name(method)
            extra = darth_options if method.startswith('darth') else ()
            record(name, []).append(
                exp.run(method, ckpt, target, osp.join(seed_dir, name), seed,
                        out_dir=method == 'darth', extra=extra or ()))
    summary: Dict = dict(
        corruption=corruption, severity=severity, seeds=list(seeds),
        seed_changes='source training and every adaptation run (the data '
        'set is the same)', std='sample standard deviation over the seeds')
    summary.update({name: aggregate(r) for name, r in runs.items()})
    summary['meta'] = dict(
        target_root=osp.abspath(target), quick=quick,
        darth_options=list(darth_options or []),
        transductive=exp.transductive,
        adapted_on_test_frames=sorted(exp.adapted_on_test_frames),
        source_checkpoints={str(k): v for k, v in checkpoints.items()},
        test_runs=exp.test_dirs, code=code_version())
    dump_json_atomic(summary, osp.join(work_dir, 'summary.json'), indent=2)
    print('\n' + format_table(summary))
    log('chart: ' + plot_summary(summary, osp.join(work_dir, 'summary.png')))
    if 'darth' in methods:
        first = osp.join(work_dir, f'seed{seeds[0]}')
        gif = write_gif(
            exp.test_dirs[osp.join(first, 'source_on_target', 'test')],
            exp.test_dirs[osp.join(first, 'darth_on_target', 'test')],
            target)
        log(f'before / after adaptation on one target video: {gif}')
    log(f'done in {(time.time() - start) / 60:.1f} min; summary: '
        f'{osp.join(work_dir, "summary.json")}; source model(s): '
        + ', '.join(checkpoints.values()))
    return summary


def demo_source_checkpoint(work_dir: str = 'work_dirs/demo',
                           seed: int = 0) -> str:
    """The source checkpoint of ``seed`` in the last demo run in
    ``work_dir`` (from its summary.json).

    Raises:
        FileNotFoundError: When no finished demo there trained one.
    """
    import json
    path = osp.join(work_dir, 'summary.json')
    ckpt = None
    if osp.isfile(path):
        with open(path) as f:
            ckpt = json.load(f).get('meta', {}).get(
                'source_checkpoints', {}).get(str(seed))
    if not ckpt or not osp.isfile(ckpt):
        raise FileNotFoundError(
            f'no source checkpoint of seed {seed} from a finished demo in '
            f'{work_dir} ({path}): run `make demo` first, or pass '
            '--checkpoint')
    return ckpt


__all__ = ['run_demo', 'make_synthetic_sets', 'corrupted_root',
           'demo_source_checkpoint']
