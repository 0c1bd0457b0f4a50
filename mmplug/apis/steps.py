"""One step of an experiment: a training or a test run, cached by key.

Each step is one :func:`mmplug.apis.train` / :func:`mmplug.apis.test` call
(printed as the train / test command would take it) in a fresh process
(:func:`.isolated.run_isolated` says why), filed under the key of what
determines it (:func:`.cache_key.run_key`): ``<cell>/<key>/`` with
``key.json``. A finished step is reused when its key matches; an interrupted
training resumes; results are written atomically.
"""
import json
import os.path as osp
import shutil
import time
from argparse import Namespace
from typing import Dict, Optional, Sequence, Tuple

from mmengine.config import DictAction

from mmplug.utils.io import dump_json_atomic
from .cache_key import file_sha256, run_key
from .isolated import run_isolated
from .runner import load_config

METRICS = ('HOTA', 'MOTA', 'IDF1', 'DetA', 'AssA')


def log(msg: str) -> None:
    print(f'[tta {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def parse_options(options: Sequence[str]) -> dict:
    """``K=V`` strings parsed as the commands' ``--cfg-options`` parse them
    (mmengine's ``DictAction``: numbers, booleans, None, lists)."""
    namespace = Namespace()
    DictAction(option_strings=['--cfg-options'], dest='cfg_options')(
        None, namespace, list(options))
    return namespace.cfg_options


def log_command(command: str, args: Sequence[str],
                options: Sequence[str]) -> None:
    """Print a step as the train / test command would take it."""
    log(f'$ {command} ' + ' '.join(list(args) + ['--cfg-options'] +
                                   list(options)))


def final_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` names, if the run finished it."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        path = f.read().strip()
    return path if osp.isfile(path) else None


def _train(config: str, work_dir: str, options: dict, resume: bool) -> None:
    from .runner import train
    train(config, work_dir, options, resume=resume)


def _test(config: str, ckpt: str, work_dir: str, options: dict,
          out_dir: Optional[str]) -> Dict[str, float]:
    from .runner import test
    return test(config, ckpt, work_dir, options, out_dir=out_dir)


def _keyed_dir(cell_dir: str, key: str, inputs: Dict) -> str:
    """``<cell_dir>/<key>/`` with ``key.json`` (what the key hashes)."""
    run_dir = osp.join(cell_dir, key)
    if not osp.isfile(osp.join(run_dir, 'key.json')):
        dump_json_atomic(inputs, osp.join(run_dir, 'key.json'), indent=1)
    return run_dir


def train(config: str, cell_dir: str, options: Sequence[str],
          load_from: Optional[str] = None) -> Tuple[str, bool]:
    """A training run of ``config`` unless one with the same key finished;
    returns its final checkpoint and whether it ran now."""
    options = list(options)
    if load_from:
        options.append(f'load_from={osp.abspath(load_from)}')
    parsed = parse_options(options)
    key, inputs = run_key(load_config(config, parsed), 'train',
                          ('train', 'val'), load_from)
    work_dir = _keyed_dir(cell_dir, key, inputs)
    done = osp.join(work_dir, 'done.json')
    if osp.isfile(done):
        with open(done) as f:
            ckpt = json.load(f)['checkpoint']
        if osp.isfile(ckpt):
            log(f'reusing {ckpt}')
            return ckpt, False
    # an interrupted run continues from its last checkpoint
    resume = final_checkpoint(work_dir) is not None
    log_command('train', [config, '--work-dir', work_dir] +
                (['--resume'] if resume else []), options)
    run_isolated(_train, config, work_dir, parsed, resume)
    ckpt = final_checkpoint(work_dir)
    if ckpt is None:
        raise RuntimeError(f'training in {work_dir} left no checkpoint')
    dump_json_atomic(dict(checkpoint=ckpt, sha256=file_sha256(ckpt)), done)
    return ckpt, True


def test(config: str, ckpt: str, cell_dir: str, options: Sequence[str],
         out_dir: bool = False) -> Tuple[Dict[str, float], str, bool]:
    """A test run unless one with the same key finished; returns its
    metrics in percent (and ``adapted_fraction`` for online runs), its
    folder and whether it ran now. ``out_dir``: keep the tracks in
    ``<folder>/tracks``."""
    parsed = parse_options(options)
    key, inputs = run_key(load_config(config, parsed), 'test', ('test', ),
                          ckpt)
    work_dir = _keyed_dir(cell_dir, key, inputs)
    result = osp.join(work_dir, 'result.json')
    tracks = osp.join(work_dir, 'tracks')
    if osp.isfile(result) and (not out_dir or osp.isdir(tracks)):
        with open(result) as f:
            return json.load(f), work_dir, False
    if osp.isdir(tracks):  # an interrupted run's output (ours)
        shutil.rmtree(tracks)
    args = [config, ckpt, '--work-dir', work_dir]
    log_command('test', args + (['--out-dir', tracks] if out_dir else []),
                options)
    metrics = run_isolated(_test, config, ckpt, work_dir, parsed,
                           tracks if out_dir else None)
    out = {k: round(100 * metrics[k], 2) for k in METRICS}
    if 'adapted_fraction' in metrics:
        out['adapted_fraction'] = round(metrics['adapted_fraction'], 4)
    dump_json_atomic(out, result, indent=2)
    return out, work_dir, True
