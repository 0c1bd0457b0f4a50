"""The embedded domain-shift demo behind ``make demo`` / tools/demo.py.

1. make the synthetic source (clean) and target (corrupted) sets, once;
2. train the source QDTrack (tools/train.py);
3. test it on the source val and target val splits (tools/test.py);
4. adapt it with DARTH on the unlabelled target train split, test on target
   val;
5. print a table and write ``<work-dir>/summary.json``.

Source val and target val are the *same* videos (same seed), the target under
a photometric corruption, so the gap measures the domain shift alone. The
target train split (another seed) is for unsupervised adaptation.
Each step runs the user-facing tool in a subprocess and prints its command.
"""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

from mmplug.datasets.converters import convert_mot_root
from mmplug.datasets.synthetic import make_synthetic_mot
from mmplug.utils.io import dump_json_atomic

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOURCE_CONFIG = osp.join(REPO, 'configs', 'qdtrack',
                         'qdtrack_faster-rcnn_r18_fpn_2xb2-cpu_synth.py')
DARTH_CONFIG = osp.join(REPO, 'configs', 'darth',
                        'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')
REPORTED = ('HOTA', 'MOTA', 'IDF1')
SEEDS = dict(source_train=0, val=1, target_train=2)


@dataclass
class SplitSpec:
    """What one cached synthetic split was made with."""
    num_videos: int
    frames: int
    size: int
    corruption: str
    severity: int
    seed: int


def _log(msg: str) -> None:
    print(f'[demo {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def make_split(root: str, split: str, spec: SplitSpec) -> None:
    """Make ``root/<split>`` unless it exists with the same spec (cached)."""
    folder = osp.join(root, split)
    stamp = osp.join(root, f'.{split}.json')
    if osp.isdir(folder) and osp.isfile(stamp):
        with open(stamp) as f:
            if json.load(f) == asdict(spec):
                _log(f'cached: {folder}')
                return
    if osp.exists(folder):
        shutil.rmtree(folder)
    _log(f'making {folder} ({spec.num_videos} videos x {spec.frames} '
         f'frames, {spec.corruption} severity {spec.severity})')
    make_synthetic_mot(folder, spec.num_videos, spec.frames, spec.size,
                       spec.corruption, spec.severity, spec.seed)
    convert_mot_root(root, osp.join(root, 'annotations'), splits=[split])
    dump_json_atomic(asdict(spec), stamp)


def make_data(data_root: str, corruption: str, severity: int,
              size: int = 192, train_videos: int = 8, val_videos: int = 4,
              frames: int = 60) -> Dict[str, str]:
    """Source and target sets; returns their roots."""
    source = osp.join(data_root, 'none')
    target = osp.join(data_root, f'{corruption}-{severity}')
    make_split(source, 'train', SplitSpec(train_videos, frames, size,
                                          'none', 1, SEEDS['source_train']))
    make_split(source, 'val', SplitSpec(val_videos, frames, size, 'none', 1,
                                        SEEDS['val']))
    make_split(target, 'train', SplitSpec(train_videos, frames, size,
                                          corruption, severity,
                                          SEEDS['target_train']))
    make_split(target, 'val', SplitSpec(val_videos, frames, size, corruption,
                                        severity, SEEDS['val']))
    return dict(source=source, target=target)


def run_tool(args: List[str]) -> None:
    """Run a tools/ script with this interpreter, streaming its output."""
    cmd = [sys.executable] + args
    _log('$ ' + ' '.join(cmd))
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    subprocess.run(cmd, cwd=REPO, env=env, check=True)


def retarget_options(split: str, root: str, ann_split: str) -> List[str]:
    """``--cfg-options`` that point ``<split>_dataloader`` at ``root``."""
    key = f'{split}_dataloader.dataset'
    return [
        f'{key}.data_root={osp.abspath(root)}/',
        f'{key}.ann_file=annotations/{ann_split}_cocoformat.json',
        f'{key}.data_prefix.img_path={ann_split}/'
    ]


def train_source(work_dir: str, source_root: str,
                 extra_options: List[str]) -> str:
    """Train (or reuse) the source model; returns its checkpoint path."""
    from mmengine.config import Config
    cfg = Config.fromfile(SOURCE_CONFIG)
    ckpt = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    if osp.isfile(ckpt) and not extra_options:
        _log(f'reusing the trained source model {ckpt} '
             '(delete it to retrain)')
        return ckpt
    run_tool([
        osp.join('tools', 'train.py'), SOURCE_CONFIG, '--work-dir', work_dir,
        '--cfg-options'
    ] + retarget_options('train', source_root, 'train') + extra_options)
    return ckpt


def adapt_darth(work_dir: str, source_ckpt: str, target_root: str,
                extra_options: List[str]) -> str:
    """DARTH adaptation on the unlabelled target train split."""
    from mmengine.config import Config
    cfg = Config.fromfile(DARTH_CONFIG)
    run_tool([
        osp.join('tools', 'train.py'), DARTH_CONFIG, '--work-dir', work_dir,
        '--cfg-options', f'load_from={osp.abspath(source_ckpt)}'
    ] + retarget_options('train', target_root, 'train') + extra_options)
    return osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')


def test_on(ckpt: str, config: str, root: str, work_dir: str) -> Dict:
    """tools/test.py on ``root``'s val split; metrics in percent. The
    tracks are kept as MOTChallenge files in ``<work_dir>/tracks``."""
    tracks = osp.join(work_dir, 'tracks')
    if osp.isdir(tracks):
        shutil.rmtree(tracks)  # our own output of an earlier demo run
    run_tool([
        osp.join('tools', 'test.py'), config, ckpt, '--work-dir', work_dir,
        '--out-dir', tracks, '--cfg-options'
    ] + retarget_options('test', root, 'val'))
    with open(osp.join(work_dir, 'metrics.json')) as f:
        metrics = json.load(f)
    return {k: round(100 * metrics[k], 2) for k in REPORTED}


def write_gif(work_dir: str, target_root: str) -> str:
    """Source-only vs. DARTH tracks on the first target val video."""
    from mmplug.visualization import comparison_gif
    val = osp.join(target_root, 'val')
    seq = sorted(os.listdir(val))[0]
    results = {
        title: osp.join(work_dir, test, 'tracks', 'default-tracker',
                        f'{seq}.txt')
        for title, test in (('source only', 'test_source_on_target'),
                            ('DARTH', 'test_darth_on_target'))
    }
    return comparison_gif(osp.join(val, seq, 'img1'), results,
                          osp.join(work_dir, f'{seq}_source_vs_darth.gif'))


def format_table(summary: Dict) -> str:
    rows = [(k, v) for k, v in summary.items() if isinstance(v, dict)]
    head = f'{"model / eval set":<22}' + ''.join(f'{m:>8}' for m in REPORTED)
    lines = [head, '-' * len(head)]
    for name, metrics in rows:
        lines.append(f'{name:<22}' +
                     ''.join(f'{metrics[m]:>8.1f}' for m in REPORTED))
    return '\n'.join(lines)


def run_demo(work_dir: str = 'work_dirs/demo', corruption: str = 'fog',
             severity: int = 4, data_root: str = 'data/synth',
             train_options: Optional[List[str]] = None,
             darth_options: Optional[List[str]] = None) -> Dict:
    """The whole demo; returns the summary written to summary.json."""
    start = time.time()
    roots = make_data(data_root, corruption, severity)
    ckpt = train_source(osp.join(work_dir, 'source'), roots['source'],
                        train_options or [])
    summary: Dict = dict(corruption=corruption, severity=severity)
    summary['source_on_source'] = test_on(
        ckpt, SOURCE_CONFIG, roots['source'],
        osp.join(work_dir, 'test_source_on_source'))
    summary['source_on_target'] = test_on(
        ckpt, SOURCE_CONFIG, roots['target'],
        osp.join(work_dir, 'test_source_on_target'))
    darth_ckpt = adapt_darth(osp.join(work_dir, 'darth'), ckpt,
                             roots['target'], darth_options or [])
    summary['darth_on_target'] = test_on(
        darth_ckpt, DARTH_CONFIG, roots['target'],
        osp.join(work_dir, 'test_darth_on_target'))
    dump_json_atomic(summary, osp.join(work_dir, 'summary.json'), indent=2)
    gif = write_gif(work_dir, roots['target'])
    print('\n' + format_table(summary))
    _log(f'before / after adaptation on one target video: {gif}')
    _log(f'done in {(time.time() - start) / 60:.1f} min; summary: '
         f'{osp.join(work_dir, "summary.json")}')
    return summary
