"""A run killed (SIGKILL) after a checkpoint and resumed with --resume
continues from that epoch (not redoing it) and ends with the same weights as
an uninterrupted run (CPU, same seed)."""
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from ..conftest import REPO, SYNTH_CONFIG, retarget_options
from ._run import run_tool, tool_env
from .test_train_test import TINY

DARTH_CONFIG = osp.join(REPO, 'configs', 'darth',
                        'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')


def _args(config, work, root, extra=()):
    return [osp.join('tools', 'train.py'), config, '--work-dir', str(work),
            '--cfg-options'] + retarget_options(root) + TINY + list(extra)


def _kill_after_first_checkpoint(args, work):
    proc = subprocess.Popen([sys.executable] + args, cwd=REPO,
                            env=tool_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 400
    while not (work / 'last_checkpoint').is_file():
        assert proc.poll() is None, 'training ended before a checkpoint'
        assert time.time() < deadline, 'no checkpoint in time'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (work / 'epoch_2.pth').exists(), 'killed too late'


def _weights(path):
    return torch.load(path, map_location='cpu')['state_dict']


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6,
                                   msg=key)


def _check(config, root, tmp_path, extra=()):
    straight = tmp_path / 'straight'
    run_tool(_args(config, straight, root, extra))
    resumed = tmp_path / 'resumed'
    args = _args(config, resumed, root, extra)
    _kill_after_first_checkpoint(args, resumed)
    saved = torch.load(resumed / 'epoch_1.pth', map_location='cpu')
    assert saved['meta']['epoch'] == 1  # torch's safe loading reads it
    log = run_tool(args + ['--resume'])
    log = log.stdout + log.stderr
    assert 'Epoch(train) [1]' not in log and 'Epoch(train) [2]' in log
    final = _weights(resumed / 'epoch_2.pth')
    _assert_same_weights(_weights(straight / 'epoch_2.pth'), final)
    return straight / 'epoch_2.pth', final


@pytest.mark.slow
def test_exact_resume_qdtrack_and_darth(synth_root, tmp_path):
    source, _ = _check(SYNTH_CONFIG, synth_root, tmp_path / 'qdtrack')
    _, darth = _check(DARTH_CONFIG, synth_root, tmp_path / 'darth',
                      [f'load_from={source}', 'model.conf_thr=0.3'])
    assert any(k.startswith('teacher_detector.') for k in darth)
