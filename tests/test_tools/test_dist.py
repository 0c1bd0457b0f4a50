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


def _state(path):
    import torch
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


@pytest.mark.slow
def test_adabn_in_two_processes_matches_one(synth_root, tmp_path):
    """AdaBN in 2 processes of 1 frame per batch: exactly the statistics of
    1 process with batches of 2 (the sampler deals each step's 2 frames to
    the 2 processes), the same in both processes, saved by rank 0."""
    import torch
    from mmengine.config import Config

    from mmdet.registry import MODELS
    from ..test_engine.test_adabn import ADABN_CONFIG
    from .test_train_test import TINY
    torch.manual_seed(0)
    ckpt = tmp_path / 'source.pth'
    torch.save(dict(state_dict=MODELS.build(
        Config.fromfile(SYNTH_CONFIG).model).state_dict()), ckpt)
    # the val split has 1 video: the (unused) val loader needs one per rank
    two_videos = [
        f'val_dataloader.dataset.{key}'
        for key in ('ann_file=annotations/train_cocoformat.json',
                    'data_prefix.img_path=train/')
    ]
    opts = retarget_options(synth_root) + TINY[3:] + two_videos + [
        f'load_from={ckpt}', 'env_cfg.dist_cfg.backend=gloo'
    ]
    one, two = tmp_path / 'one', tmp_path / 'two'
    _sh(['tools/dist_train.sh', ADABN_CONFIG, '1', '--work-dir', str(one),
         '--cfg-options'] + opts + ['train_dataloader.batch_size=2'])
    _sh(['tools/dist_train.sh', ADABN_CONFIG, '2', '--work-dir', str(two),
         '--cfg-options'] + opts + ['train_dataloader.batch_size=1'])
    a, b = _state(one / 'epoch_1.pth'), _state(two / 'epoch_1.pth')
    src = _state(ckpt)
    keys = [k for k in a if k.endswith(('running_mean', 'running_var'))]
    assert keys and any(not torch.allclose(a[k], src[k]) for k in keys)
    for k in keys:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_online_adaptation_in_two_processes_matches_one(synth_root,
                                                        tmp_path):
    """reset='video': each process adapts on its own videos, exactly as a
    single process does on them (views and sampling are seeded per frame,
    no gradient is synchronised); adapted_fraction is over the frames of
    every process: videos of 8 and 5 frames, adapting on every 3rd frame,
    give 5 / 13 in one process and in two (rank 0 alone: 3 / 8)."""
    import shutil

    import torch
    from mmengine.config import Config

    from mmdet.registry import MODELS
    from ..test_engine.test_online_adaptation_loop import ONLINE_CONFIG
    root = tmp_path / 'data'
    shutil.copytree(synth_root, root)
    ann = root / 'annotations' / 'train_cocoformat.json'
    data = json.loads(ann.read_text())
    video = data['images'][-1]['video_id']
    drop = {im['id'] for im in data['images']
            if im['video_id'] == video and im['frame_id'] >= 5}
    data['images'] = [im for im in data['images'] if im['id'] not in drop]
    data['annotations'] = [a for a in data['annotations']
                           if a['image_id'] not in drop]
    ann.write_text(json.dumps(data))
    torch.manual_seed(0)
    ckpt = tmp_path / 'source.pth'
    torch.save(dict(state_dict=MODELS.build(
        Config.fromfile(SYNTH_CONFIG).model).state_dict()), ckpt)
    opts = [
        f'test_dataloader.dataset.data_root={root}/',
        'test_dataloader.dataset.ann_file=annotations/train_cocoformat.json',
        'test_dataloader.dataset.data_prefix.img_path=train/',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'test_cfg.skip_conf_thr=None', 'test_cfg.interval=3',
        'model.conf_thr=0.0', 'model.tracker.init_score_thr=0.0',
        'model.tracker.obj_score_thr=0.0', 'env_cfg.dist_cfg.backend=gloo'
    ]
    metrics = {}
    for nproc in ('1', '2'):
        out = tmp_path / f'test{nproc}'
        _sh(['tools/dist_test.sh', ONLINE_CONFIG, str(ckpt), nproc,
             '--work-dir', str(out), '--cfg-options'] + opts)
        metrics[nproc] = json.loads((out / 'metrics.json').read_text())
    assert metrics['1']['adapted_fraction'] == 5 / 13
    # both runs track something (boxes of an untrained model)
    assert metrics['1']['IDTP'] + metrics['1']['IDFP'] > 0
    assert metrics['1'] == metrics['2']
