"""corrupt_mot.py: a corrupted copy of any MOTChallenge-layout root that
resumes after a kill to the same bytes, and that the tools use as is."""
import hashlib
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from mmplug.datasets.converters.corrupt_mot import corrupt_mot_root
from mmplug.datasets.synthetic import make_synthetic_mot

from ..conftest import REPO, SYNTH_CONFIG
from ..test_tools._run import run_tool, tool_env

TOOL = osp.join('tools', 'dataset_converters', 'corrupt_mot.py')


def _digest(folder):
    """{relative path: sha256} of every file under ``folder``."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, folder)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


@pytest.fixture
def mot_root(tmp_path):
    root = tmp_path / 'MOT'
    make_synthetic_mot(str(root / 'train'), 4, 40, 96, seed=0)
    make_synthetic_mot(str(root / 'val'), 1, 6, 80, seed=1)
    return str(root)


def test_corrupted_copy(mot_root, tmp_path):
    before = _digest(mot_root)
    out = tmp_path / 'out'
    written = corrupt_mot_root(mot_root, str(out), 'snow', 2, seed=0,
                               workers=2, splits=['val'])
    assert _digest(mot_root) == before  # input untouched
    seq = 'synth-s1-v000'
    src, dst = osp.join(mot_root, 'val', seq), out / 'val' / seq
    for name in ('gt/gt.txt', 'seqinfo.ini'):
        assert (dst / name).read_bytes() == open(osp.join(src, name),
                                                 'rb').read()
    for frame in ('000001.jpg', '000006.jpg'):
        clean = cv2.imread(osp.join(src, 'img1', frame))
        dirty = cv2.imread(str(dst / 'img1' / frame))
        assert dirty.shape == clean.shape == (80, 80, 3)  # its own size
        assert np.abs(dirty.astype(int) - clean).mean() > 5
    ann = json.loads((out / 'annotations' / 'val_cocoformat.json')
                     .read_text())
    assert written == [str(out / 'annotations' / 'val_cocoformat.json')]
    assert len(ann['images']) == 6 and ann['annotations']
    assert not (out / 'train').exists()


def test_bad_input_is_refused_with_the_list(mot_root, tmp_path):
    proc = run_tool([TOOL, '-i', mot_root, '-o', str(tmp_path / 'o'),
                     '--corruption', 'fogg', '--severity', '3'],
                    check=False)
    assert proc.returncode != 0
    assert "invalid choice: 'fogg'" in proc.stderr
    assert 'gaussian_noise' in proc.stderr and 'saturate' in proc.stderr
    assert not (tmp_path / 'o').exists()
    corrupt_mot_root(mot_root, str(tmp_path / 'o2'), 'fog', 1,
                     splits=['val'])
    with pytest.raises(FileExistsError, match='made with'):
        corrupt_mot_root(mot_root, str(tmp_path / 'o2'), 'fog', 2,
                         splits=['val'])


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_bytes(mot_root, tmp_path):
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    args = ['-i', mot_root, '--corruption', 'zoom_blur', '--severity', '3',
            '--seed', '4', '--splits', 'train']
    run_tool([TOOL, '-o', str(straight)] + args)
    proc = subprocess.Popen([sys.executable, TOOL, '-o', str(resumed)] +
                            args, cwd=REPO, env=tool_env(),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    train = resumed / 'train'
    deadline = time.time() + 120
    while not (train.is_dir() and any(not p.name.startswith('.')
                                      for p in train.iterdir())):
        assert proc.poll() is None, 'finished before it could be killed'
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (resumed / 'annotations').exists(), 'killed too late'
    assert any(p.name.startswith('.tmp-') for p in train.iterdir())
    run_tool([TOOL, '-o', str(resumed)] + args)
    assert _digest(resumed) == _digest(straight)


@pytest.mark.slow
def test_mot2coco_and_test_py_use_the_copy(mot_root, tmp_path):
    import torch
    from mmengine.config import Config

    from mmdet.registry import MODELS
    out = tmp_path / 'C'
    run_tool([TOOL, '-i', mot_root, '-o', str(out), '--corruption',
              'contrast', '--severity', '3', '--splits', 'val'])
    ann = tmp_path / 'ann'
    run_tool(['tools/dataset_converters/mot2coco.py', '-i', str(out), '-o',
              str(ann)])
    assert json.loads((ann / 'val_cocoformat.json').read_text()) == \
        json.loads((out / 'annotations' / 'val_cocoformat.json').read_text())
    torch.manual_seed(0)
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=MODELS.build(
        Config.fromfile(SYNTH_CONFIG).model).state_dict()), ckpt)
    run_tool(['tools/test.py', SYNTH_CONFIG, str(ckpt), '--work-dir',
              str(tmp_path / 't'), '--cfg-options',
              f'test_dataloader.dataset.data_root={out}/',
              'test_dataloader.dataset.ann_file='
              'annotations/val_cocoformat.json',
              'test_dataloader.dataset.data_prefix.img_path=val/',
              'test_dataloader.num_workers=0',
              'test_dataloader.persistent_workers=False'])
    metrics = json.loads((tmp_path / 't' / 'metrics.json').read_text())
    assert 'HOTA' in metrics


def test_written_folders_get_the_umask_permissions(tmp_path):
    """Sequence folders (made under a temporary name, then renamed) and the
    synthetic set get 0777 less the umask, not mkdtemp's 0700."""
    old = os.umask(0o027)
    try:
        root = tmp_path / 'MOT'
        make_synthetic_mot(str(root / 'val'), 1, 2, 64, seed=1)
        corrupt_mot_root(str(root), str(tmp_path / 'out'), 'fog', 1)
    finally:
        os.umask(old)
    mode = lambda p: os.stat(p).st_mode & 0o777  # noqa: E731
    seq = 'synth-s1-v000'
    assert mode(root / 'val') == 0o750
    assert mode(tmp_path / 'out' / 'val' / seq) == 0o750
    assert mode(tmp_path / 'out' / 'val' / seq / 'img1') == 0o750
    assert mode(tmp_path / 'out' / 'annotations' / 'val_cocoformat.json') \
        == 0o640
