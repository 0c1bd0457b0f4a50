import os

import numpy as np
import pytest

from mmplug.datasets.converters import parse_gt_file
from mmplug.datasets.corruptions import CORRUPTIONS, corrupt_frame
from mmplug.datasets.synthetic import make_synthetic_mot, render_video


def _read_images(seq_dir):
    import cv2
    files = sorted(os.listdir(os.path.join(seq_dir, 'img1')))
    return [cv2.imread(os.path.join(seq_dir, 'img1', f)) for f in files]


def test_layout_and_gt(tmp_path):
    out = tmp_path / 'synth'
    names = make_synthetic_mot(str(out), num_videos=2, frames=12, size=96,
                               seed=3)
    assert names == ['synth-s3-v000', 'synth-s3-v001']
    seq = out / names[0]
    assert sorted(os.listdir(seq / 'img1'))[:2] == ['000001.jpg', '000002.jpg']
    assert len(os.listdir(seq / 'img1')) == 12
    ini = (seq / 'seqinfo.ini').read_text()
    assert 'seqLength=12' in ini and 'imWidth=96' in ini
    rows = parse_gt_file(str(seq / 'gt' / 'gt.txt'))
    frames = {r['frame'] for r in rows}
    assert frames == set(range(1, 13))  # every frame has an object
    assert all(r['id'] >= 1 and r['cls'] == 1 for r in rows)
    assert all(0 <= r['visibility'] <= 1 for r in rows)


def test_objects_move_enter_leave_and_occlude():
    _, gt = render_video(seed=0, video=0, num_frames=120, size=128)
    gt = np.array(gt, dtype=float)
    ids = np.unique(gt[:, 1])
    first = {i: gt[gt[:, 1] == i, 0].min() for i in ids}
    last = {i: gt[gt[:, 1] == i, 0].max() for i in ids}
    assert len(ids) > 4
    assert any(f > 1 for f in first.values())  # objects enter
    assert any(v < 120 for v in last.values())  # and leave
    assert (gt[:, 8] < 0.99).any()  # partial occlusion / border cut
    track = gt[gt[:, 1] == ids[0]]
    assert np.abs(np.diff(track[:, 2])).max() > 0  # moves


def test_deterministic_per_seed_and_corruption_keeps_geometry(tmp_path):
    a = make_synthetic_mot(str(tmp_path / 'a'), 1, 5, 96, seed=7)
    make_synthetic_mot(str(tmp_path / 'b'), 1, 5, 96, seed=7)
    make_synthetic_mot(str(tmp_path / 'fog'), 1, 5, 96, 'fog', 3, seed=7)
    make_synthetic_mot(str(tmp_path / 'c'), 1, 5, 96, seed=8)
    gt = {d: (tmp_path / d / os.listdir(tmp_path / d)[0] / 'gt' /
              'gt.txt').read_text() for d in ('a', 'b', 'fog', 'c')}
    assert gt['a'] == gt['b'] == gt['fog']
    assert gt['a'] != gt['c']
    imgs_a = _read_images(str(tmp_path / 'a' / a[0]))
    imgs_b = _read_images(str(tmp_path / 'b' / a[0]))
    imgs_f = _read_images(str(tmp_path / 'fog' / a[0]))
    assert all(np.array_equal(x, y) for x, y in zip(imgs_a, imgs_b))
    assert np.abs(imgs_a[0].astype(int) - imgs_f[0]).mean() > 10


@pytest.mark.parametrize('corruption', CORRUPTIONS)
def test_each_corruption_changes_look_not_shape(corruption):
    frames, _ = render_video(0, 0, 2, 64)
    diff = {}
    for severity in (1, 5):
        out = corrupt_frame(frames[0], corruption, severity, 0, 'v', 0)
        assert out.shape == frames[0].shape and out.dtype == np.uint8
        diff[severity] = np.abs(out.astype(int) - frames[0]).mean()
    assert diff[5] > 1
    assert diff[5] > diff[1]


def test_two_classes():
    _, gt = render_video(0, 1, 60, 128, num_classes=2)
    assert {r[7] for r in gt} == {1, 2}


@pytest.mark.parametrize('kwargs, match', [
    (dict(corruption='rain'), "unknown corruption 'rain'; valid names"),
    (dict(corruption='fog', severity=6), 'severity must be one of'),
    (dict(size=16), 'size must be >= 64'),
    (dict(num_videos=0), 'num_videos must be >= 1'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    args = dict(num_videos=1, frames=3, size=64)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        make_synthetic_mot(str(tmp_path / 'x'), **args)
    assert not (tmp_path / 'x').exists()


def test_refuses_to_overwrite(tmp_path):
    out = tmp_path / 'x'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    with pytest.raises(FileExistsError, match=str(out)):
        make_synthetic_mot(str(out), 1, 3, 64)
    assert (out / 'keep.txt').read_text() == 'mine'
