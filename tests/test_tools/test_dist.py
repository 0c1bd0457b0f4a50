"""2-process training and testing on CPU (gloo) through tools/dist_*.sh."""
import json
import os
import os.path as osp
import socket
import subprocess

import pytest

from ..conftest import REPO, SYNTH_CONFIG, retarget_options
from ._run import tool_env
from .test_train_test import TINY


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def _sh(args):
    env = tool_env()
    env.update(PORT=_free_port(), OMP_NUM_THREADS='1')
    env['PATH'] = osp.dirname(os.sys.executable) + os.pathsep + env['PATH']
    proc = subprocess.run(['bash'] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.mark.slow
def test_two_process_train_and_test_match_one_process(synth_root, tmp_path):
    # the val split has 1 video: evaluate on the 2 train videos, so that
    # each rank gets one
    two_videos = [
        f'{split}_dataloader.dataset.{key}'
        for split in ('val', 'test')
        for key in ('ann_file=annotations/train_cocoformat.json',
                    'data_prefix.img_path=train/')
    ]
    opts = retarget_options(synth_root) + TINY + two_videos + [
        'train_cfg.max_epochs=1', 'env_cfg.dist_cfg.backend=gloo'
    ]
    work = tmp_path / 'train'
    _sh(['tools/dist_train.sh', SYNTH_CONFIG, '2', '--work-dir', str(work),
         '--cfg-options'] + opts)
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()

    test_opts = retarget_options(synth_root) + TINY[-4:] + two_videos + [
        'env_cfg.dist_cfg.backend=gloo'
    ]
    metrics = {}
    for nproc in ('1', '2'):
        out = tmp_path / f'test{nproc}'
        _sh(['tools/dist_test.sh', SYNTH_CONFIG, str(ckpt), nproc,
             '--work-dir', str(out), '--cfg-options'] + test_opts)
        metrics[nproc] = json.loads((out / 'metrics.json').read_text())
    assert metrics['1'] == metrics['2']


@pytest.mark.slow
def test_online_adaptation_in_two_processes_matches_one(synth_root,
                                                        tmp_path):
    """reset='video': each process adapts on its own videos, exactly as a
    single process does on them (views and sampling are seeded per frame,
    no gradient is synchronised)."""
    import torch
    from mmengine.config import Config

    from mmdet.registry import MODELS
    from ..test_engine.test_online_adaptation_loop import ONLINE_CONFIG
    torch.manual_seed(0)
    ckpt = tmp_path / 'source.pth'
    torch.save(dict(state_dict=MODELS.build(
        Config.fromfile(SYNTH_CONFIG).model).state_dict()), ckpt)
    opts = [
        f'test_dataloader.dataset.data_root={synth_root}/',
        'test_dataloader.dataset.ann_file=annotations/train_cocoformat.json',
        'test_dataloader.dataset.data_prefix.img_path=train/',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'test_cfg.skip_conf_thr=None', 'model.conf_thr=0.0',
        'model.tracker.init_score_thr=0.0', 'model.tracker.obj_score_thr=0.0',
        'env_cfg.dist_cfg.backend=gloo'
    ]
    metrics = {}
    for nproc in ('1', '2'):
        out = tmp_path / f'test{nproc}'
        _sh(['tools/dist_test.sh', ONLINE_CONFIG, str(ckpt), nproc,
             '--work-dir', str(out), '--cfg-options'] + opts)
        metrics[nproc] = json.loads((out / 'metrics.json').read_text())
    assert metrics['1']['adapted_fraction'] == 1.0
    assert metrics['1']['IDTP'] > 0
    assert metrics['1'] == metrics['2']
