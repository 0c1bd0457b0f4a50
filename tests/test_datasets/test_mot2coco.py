import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmplug.datasets.converters import (MOTFormatError, convert_mot_root,
                                        parse_gt_file)
from mmplug.datasets.converters.mot import half_split
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
    """mmdet's split of 10 frames: half-train 1..6, half-val 7..10."""
    convert_mot_root(str(mot_root), str(tmp_path), split_train=True)
    half_train = json.loads((tmp_path / 'half-train_cocoformat.json'
                             ).read_text())
    half_val = json.loads((tmp_path / 'half-val_cocoformat.json').read_text())
    assert len(half_train['images']) == 2 * 6
    assert len(half_val['images']) == 2 * 4
    assert half_train['images'][-1]['mot_frame_id'] == 10 - 4
    first_val = half_val['images'][0]
    assert first_val['frame_id'] == 0 and first_val['mot_frame_id'] == 7
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


# The first 3 frames of MOT15's TUD-Campus ground truth, as motmetrics 1.4.0
# ships it (motmetrics/data/TUD-Campus/gt.txt): 2D MOT 2015's 10 columns,
# frame, id, x, y, w, h, conf, world x, y, z (-1: unknown); no class column.
TUD_CAMPUS_GT = """\
1,1,399,182,121,229,1,-1,-1,-1
1,2,282,201,92,184,1,-1,-1,-1
1,3,63,153,82,288,1,-1,-1,-1
1,4,192,206,62,137,1,-1,-1,-1
1,5,125,209,74,157,1,-1,-1,-1
1,6,162,208,55,145,1,-1,-1,-1
2,1,399,181,139,235,1,-1,-1,-1
2,2,269,202,87,182,1,-1,-1,-1
2,3,71,151,100,284,1,-1,-1,-1
2,4,200,206,55,137,1,-1,-1,-1
2,5,127,210,77,157,1,-1,-1,-1
2,6,157,206,71,143,1,-1,-1,-1
3,1,419,182,106,227,1,-1,-1,-1
3,2,271,196,76,190,1,-1,-1,-1
3,3,70,155,111,286,1,-1,-1,-1
3,4,209,204,47,139,1,-1,-1,-1
3,5,136,206,64,160,1,-1,-1,-1
3,6,162,204,71,142,1,-1,-1,-1
"""


def _mot_sequence(seq_dir, frames, gt_text, seq_length=None, size=(64, 48)):
    """A MOTChallenge sequence folder: ``frames`` black JPEGs, gt.txt and a
    seqinfo.ini (MOT17's key order) saying ``seq_length`` frames."""
    os.makedirs(osp.join(seq_dir, 'img1'))
    os.makedirs(osp.join(seq_dir, 'gt'))
    w, h = size
    for i in range(1, frames + 1):
        cv2.imwrite(osp.join(seq_dir, 'img1', f'{i:06d}.jpg'),
                    np.zeros((h, w, 3), np.uint8))
    with open(osp.join(seq_dir, 'gt', 'gt.txt'), 'w') as f:
        f.write(gt_text)
    with open(osp.join(seq_dir, 'seqinfo.ini'), 'w') as f:
        f.write(f'[Sequence]\nname={osp.basename(seq_dir)}\nimDir=img1\n'
                f'frameRate=25\nseqLength={seq_length or frames}\n'
                f'imWidth={w}\nimHeight={h}\nimExt=.jpg\n')


def test_mot15_gt_converts(tmp_path):
    _mot_sequence(str(tmp_path / 'MOT15' / 'train' / 'TUD-Campus'), 3,
                  TUD_CAMPUS_GT, size=(640, 480))
    convert_mot_root(str(tmp_path / 'MOT15'), str(tmp_path / 'ann'))
    out = json.loads((tmp_path / 'ann' / 'train_cocoformat.json').read_text())
    anns = out['annotations']
    assert len(anns) == 18  # every row, none dropped as "class -1"
    assert {a['category_id'] for a in anns} == {1}
    assert {a['visibility'] for a in anns} == {1.0}
    assert {a['iscrowd'] for a in anns} == {0}
    first = anns[0]
    assert first['bbox'] == [399.0, 182.0, 121.0, 229.0]
    assert first['mot_instance_id'] == 1
    assert len({a['instance_id'] for a in anns}) == 6


@pytest.mark.skipif(
    __import__('importlib').util.find_spec('motmetrics') is None,
    reason='motmetrics (test dependency, ships TUD-Campus) is not installed')
def test_whole_tud_campus_gt_converts(tmp_path):
    import motmetrics
    gt = osp.join(osp.dirname(motmetrics.__file__), 'data', 'TUD-Campus',
                  'gt.txt')
    rows = parse_gt_file(gt)
    assert len(rows) == 359
    assert {(r['cls'], r['visibility']) for r in rows} == {(1, 1.0)}


@pytest.mark.parametrize('seq_length, images', [(5, 4), (3, 4)])
def test_seq_length_must_match_the_images(tmp_path, seq_length, images):
    _mot_sequence(str(tmp_path / 'root' / 'train' / 'MOT17-02'), images,
                  '1,1,1,1,5,5,1,1,1\n', seq_length=seq_length)
    with pytest.raises(MOTFormatError,
                       match=rf'sequence MOT17-02: .*seqinfo\.ini says '
                       rf'seqLength={seq_length}, but .*img1 holds {images} '
                       'images'):
        convert_mot_root(str(tmp_path / 'root'), str(tmp_path / 'o'))


@pytest.mark.parametrize('n, train, val', [
    (10, [1, 2, 3, 4, 5, 6], [7, 8, 9, 10]),
    (9, [1, 2, 3, 4, 5], [6, 7, 8, 9]),
    (600, list(range(1, 302)), list(range(302, 601))),  # MOT17-02
])
def test_half_split_frames(n, train, val):
    halves = half_split(n)
    assert (list(halves[0]), list(halves[1])) == (train, val)


def _mmdet_converter():
    import mmdet
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools',
                    'dataset_converters', 'mot2coco.py')
    if not osp.isfile(path):
        pytest.skip(f'mmdet ships no converter at {path}')
    return path


def _by_video(data):
    """{video name: [(file name, mot frame, sorted boxes of the frame)]}."""
    names = {v['id']: v['name'] for v in data['videos']}
    boxes = {}
    for a in data['annotations']:
        boxes.setdefault(a['image_id'], []).append(
            (a['mot_instance_id'], a['category_id'], a['bbox']))
    out = {}
    for im in sorted(data['images'], key=lambda im: im['id']):
        out.setdefault(names[im['video_id']], []).append(
            (im['file_name'], im['mot_frame_id'],
             sorted(boxes.get(im['id'], []))))
    return out


@pytest.mark.parametrize('kind', ['MOT17', 'MOT15'])
def test_same_splits_as_mmdets_converter(tmp_path, kind):
    """mmdet 3.3's own converter and ours on one folder: the same images,
    in the same order, with the same boxes, in every split (odd and even
    lengths; mmdet reads MOT15 by the folder name)."""
    root = tmp_path / kind
    if kind == 'MOT17':
        make_synthetic_mot(str(root / 'train'), 2, 9, 64, seed=0)
        _mot_sequence(str(root / 'train' / 'MOT17-10'), 10,
                      '1,1,1,1,5,5,1,1,0.5\n10,1,2,2,5,5,1,1,1\n'
                      '7,2,3,3,4,4,1,1,0.25\n6,3,3,3,4,4,1,1,1\n')
    else:
        _mot_sequence(str(root / 'train' / 'TUD-Campus'), 3, TUD_CAMPUS_GT)
    make_synthetic_mot(str(root / 'test'), 1, 4, 64, seed=1)
    ours = tmp_path / 'ours'
    convert_mot_root(str(root), str(ours), split_train=True)
    # mmdet writes gt_half-*.txt into the input: it gets a copy
    import shutil
    shutil.copytree(root, tmp_path / 'copy' / kind)
    theirs = tmp_path / 'theirs'
    subprocess.run([sys.executable, _mmdet_converter(), '-i',
                    str(tmp_path / 'copy' / kind), '-o', str(theirs),
                    '--split-train'], check=True, capture_output=True)
    for split in ('train', 'half-train', 'half-val'):
        load = lambda d: _by_video(json.loads(  # noqa: E731
            (d / f'{split}_cocoformat.json').read_text()))
        assert load(ours) == load(theirs), split
    n = 10 if kind == 'MOT17' else 3
    val = _by_video(json.loads((ours / 'half-val_cocoformat.json'
                                ).read_text()))
    first = val['MOT17-10' if kind == 'MOT17' else 'TUD-Campus'][0]
    assert first[1] == n // 2 + 2
