import json
import os

import pytest

from mmplug.datasets.converters import (MOTFormatError, convert_mot_root,
                                        parse_gt_file)
from mmplug.datasets.synthetic import make_synthetic_mot


@pytest.fixture
def mot_root(tmp_path):
    root = tmp_path / 'MOT'
    make_synthetic_mot(str(root / 'train'), 2, 10, 64, seed=0)
    make_synthetic_mot(str(root / 'test'), 1, 6, 64, seed=1)
    return root


def _snapshot(folder):
    out = {}
    for dirpath, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(dirpath, f)
            out[p] = os.path.getmtime(p)
    return out


def test_converts_every_split_with_gt_and_leaves_input(mot_root, tmp_path):
    before = _snapshot(mot_root)
    out = tmp_path / 'ann'
    written = convert_mot_root(str(mot_root), str(out), split_train=True)
    assert sorted(os.path.basename(p) for p in written) == [
        'half-train_cocoformat.json', 'half-val_cocoformat.json',
        'test_cocoformat.json', 'train_cocoformat.json'
    ]
    assert _snapshot(mot_root) == before
    test = json.loads((out / 'test_cocoformat.json').read_text())
    assert len(test['annotations']) > 0  # gt kept for `test` too
    train = json.loads((out / 'train_cocoformat.json').read_text())
    assert [v['name'] for v in train['videos']] == [
        'synth-s0-v000', 'synth-s0-v001'
    ]
    assert len(train['images']) == 20
    img = train['images'][0]
    assert img['file_name'] == 'synth-s0-v000/img1/000001.jpg'
    assert img['frame_id'] == 0 and img['mot_frame_id'] == 1
    assert train['categories'] == [dict(id=1, name='pedestrian')]
    ann = train['annotations'][0]
    assert ann['instance_id'] >= 1 and ann['category_id'] == 1
    assert len({a['id'] for a in train['annotations']}) == \
        len(train['annotations'])


def test_half_split(mot_root, tmp_path):
    convert_mot_root(str(mot_root), str(tmp_path), split_train=True)
    half_train = json.loads((tmp_path / 'half-train_cocoformat.json'
                             ).read_text())
    half_val = json.loads((tmp_path / 'half-val_cocoformat.json').read_text())
    assert len(half_train['images']) == len(half_val['images']) == 10
    first_val = half_val['images'][0]
    assert first_val['frame_id'] == 0 and first_val['mot_frame_id'] == 6
    ids_train = {(a['image_id'], a['instance_id'])
                 for a in half_train['annotations']}
    assert ids_train


def test_split_train_halves_are_disjoint_and_cover_each_video(
        mot_root, tmp_path):
    from ..test_tools._run import run_tool
    run_tool(['tools/dataset_converters/mot2coco.py', '-i', str(mot_root),
              '-o', str(tmp_path), '--split-train'])
    load = lambda n: json.loads((tmp_path / f'{n}_cocoformat.json'  # noqa
                                 ).read_text())
    full, halves = load('train'), [load('half-train'), load('half-val')]
    for video in full['videos']:
        frames = [sorted(im['mot_frame_id'] for im in half['images']
                         if im['video_id'] == video['id'])
                  for half in halves]
        every = sorted(im['mot_frame_id'] for im in full['images']
                       if im['video_id'] == video['id'])
        assert not set(frames[0]) & set(frames[1]), video['name']
        assert sorted(frames[0] + frames[1]) == every == list(
            range(1, len(every) + 1))
        assert max(frames[0]) < min(frames[1])  # train half comes first
    for half in halves:  # frame ids restart at 0 in each half
        for video in half['videos']:
            ids = [im['frame_id'] for im in half['images']
                   if im['video_id'] == video['id']]
            assert ids == list(range(len(ids)))
    # every annotation of the full split is in exactly one half
    key = lambda data: sorted(  # noqa: E731
        (im['file_name'], a['mot_instance_id'])
        for im in data['images'] for a in data['annotations']
        if a['image_id'] == im['id'])
    assert sorted(key(halves[0]) + key(halves[1])) == key(full)


def test_instance_ids_unique_across_videos(mot_root, tmp_path):
    convert_mot_root(str(mot_root), str(tmp_path))
    train = json.loads((tmp_path / 'train_cocoformat.json').read_text())
    per_video = {}
    for a in train['annotations']:
        per_video.setdefault(a['instance_id'], set()).add(a['video_id'])
    assert all(len(v) == 1 for v in per_video.values())


def test_malformed_gt_line_names_file_and_line(tmp_path):
    gt = tmp_path / 'gt.txt'
    gt.write_text('1,1,10,10,5,5,1,1,1\n2,1,ten,10,5,5,1,1,1\n')
    with pytest.raises(MOTFormatError, match=r'gt\.txt:2: non-numeric'):
        parse_gt_file(str(gt))
    gt.write_text('1,1,10\n')
    with pytest.raises(MOTFormatError, match=r'gt\.txt:1: expected at least'):
        parse_gt_file(str(gt))


def test_malformed_gt_in_root_fails_without_output(mot_root, tmp_path):
    seq = mot_root / 'train' / 'synth-s0-v001' / 'gt' / 'gt.txt'
    seq.write_text(seq.read_text() + '3,4,5\n')
    out = tmp_path / 'ann'
    with pytest.raises(MOTFormatError, match='synth-s0-v001/gt/gt.txt'):
        convert_mot_root(str(mot_root), str(out))
    assert not (out / 'train_cocoformat.json').exists()


def test_short_gt_columns_default(tmp_path):
    gt = tmp_path / 'gt.txt'
    gt.write_text('1,3,1,2,3,4\n')
    row = parse_gt_file(str(gt))[0]
    assert row['conf'] == 1 and row['cls'] == 1 and row['visibility'] == 1


def test_empty_video_is_an_error(tmp_path):
    (tmp_path / 'root' / 'train' / 'seq' / 'img1').mkdir(parents=True)
    with pytest.raises(MOTFormatError, match=r'seq/img1: no images'):
        convert_mot_root(str(tmp_path / 'root'), str(tmp_path / 'o'))


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope'):
        convert_mot_root(str(tmp_path / 'nope'), str(tmp_path / 'o'))
