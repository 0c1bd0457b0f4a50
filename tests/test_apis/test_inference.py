"""mmplug.apis.inference / footage: frames in, tracks per frame out."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmdet.registry import MODELS
from mmplug.apis import FrameTracks, init_tracker, track_video
from mmplug.apis.footage import (list_images, write_mot_tracks,
                                 write_sequence_root, write_video)
from mmplug.apis import configs_root
from mmplug.apis.inference import default_adapt_config

from ..conftest import REPO, SYNTH_CONFIG

# an untrained model tracks every detection (so tracks exist)
TRACK_ALL = dict(model=dict(tracker=dict(init_score_thr=0.0,
                                         obj_score_thr=0.0)))
R50_MOT17 = osp.join(
    REPO, 'configs', 'qdtrack',
    'qdtrack_faster-rcnn_r50_fpn_8xb2-4e_mot17halftrain_test-mot17halfval.py')


@pytest.fixture(scope='module')
def source_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(SYNTH_CONFIG).model)
    path = str(tmp_path_factory.mktemp('source') / 'source.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


@pytest.fixture
def seq_dir(synth_root):
    return osp.join(synth_root, 'val', 'synth-s1-v000')


def _mp4(frames_dir, path, count=None):
    images = [cv2.imread(p) for p in list_images(frames_dir)][:count]
    write_video(iter(images), str(path), fps=5)
    return str(path)


def test_sequence_root_from_folder_and_video(seq_dir, tmp_path):
    folder = write_sequence_root(osp.join(seq_dir, 'img1'),
                                 str(tmp_path / 'a'), max_frames=5)
    assert folder['name'] == 'synth-s1-v000' and folder['num_frames'] == 5
    ann = json.loads(open(folder['ann_file']).read())
    assert len(ann['videos']) == 1 and len(ann['images']) == 5
    assert ann['annotations'] == []  # no label anywhere
    # the folder's files, not re-encoded
    assert open(folder['images'][0], 'rb').read() == open(
        osp.join(seq_dir, 'img1', '000001.jpg'), 'rb').read()
    video = write_sequence_root(_mp4(osp.join(seq_dir, 'img1'),
                                     tmp_path / 'clip.mp4'),
                                str(tmp_path / 'b'))
    assert video['name'] == 'clip' and video['num_frames'] == 8
    assert cv2.imread(video['images'][7]).shape == (96, 96, 3)


def test_bad_inputs_are_named(tmp_path):
    missing = tmp_path / 'nope.mp4'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        write_sequence_root(str(missing), str(tmp_path / 'r1'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('no image')
    with pytest.raises(ValueError, match=f'{empty}: no images'):
        write_sequence_root(str(empty), str(tmp_path / 'r2'))
    text = tmp_path / 'text.mp4'
    text.write_text('not a video')
    with pytest.raises(ValueError, match=f'{text}: cannot be read'):
        write_sequence_root(str(text), str(tmp_path / 'r3'))
    with pytest.raises(ValueError, match='frames: no frames'):
        write_sequence_root([], str(tmp_path / 'r4'))
    with pytest.raises(ValueError, match='max_frames must be >= 1'):
        write_sequence_root(str(empty), str(tmp_path / 'r5'), max_frames=0)
    with pytest.raises(FileExistsError, match=f'{empty} is not empty'):
        write_sequence_root([np.zeros((8, 8, 3), np.uint8)], str(empty))
    with pytest.raises(ValueError, match='must be .mp4 or .gif'):
        write_video(iter([]), str(tmp_path / 'out.avi'), 5)


def test_mot_lines_as_mmdet_writes_them(tmp_path):
    frame = FrameTracks(
        frame=3, ids=np.array([7, 2]),
        bboxes=np.array([[1.5, 2.0, 11.25, 22.0], [0, 0, 1, 1]],
                        dtype=np.float32),
        scores=np.array([0.91234, 0.2], dtype=np.float32),
        labels=np.array([0, 0]))
    assert frame.mot_lines() == [
        '3,7,1.500,2.000,9.750,20.000,0.912,-1,-1,-1\n',
        '3,2,0.000,0.000,1.000,1.000,0.200,-1,-1,-1\n']
    assert len(frame.above(0.5).ids) == 1
    path = write_mot_tracks([frame], str(tmp_path / 't' / 'x.txt'))
    assert open(path).read().count('\n') == 2


def test_default_adapt_configs():
    synth = Config.fromfile(SYNTH_CONFIG)
    assert default_adapt_config(synth, 'online') == osp.join(
        configs_root(), 'darth',
        'darth-online_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')
    r50 = Config.fromfile(R50_MOT17)
    assert default_adapt_config(r50, 'adabn').endswith(
        'adabn_faster-rcnn_r50_fpn_mot17halfval.py')
    dance = Config.fromfile(R50_MOT17.replace(
        'mot17halftrain_test-mot17halfval', 'dancetrack'))
    assert default_adapt_config(dance, 'darth').endswith(
        'darth_faster-rcnn_r50_fpn_4e_dancetrackval.py')
    r50.model.detector.backbone.depth = 101
    with pytest.raises(ValueError, match='depth 101'):
        default_adapt_config(r50, 'darth')


def test_init_tracker_names_a_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        init_tracker(SYNTH_CONFIG, str(tmp_path / 'nope.pth'))


def test_each_tracking_call_logs_into_its_own_work_dir(seq_dir, source_ckpt,
                                                      tmp_path):
    import glob
    model = init_tracker(SYNTH_CONFIG, source_ckpt, 'cpu', TRACK_ALL)
    for name in ('a', 'b'):
        track_video(model, osp.join(seq_dir, 'img1'), max_frames=2,
                    work_dir=str(tmp_path / name))
        assert glob.glob(str(tmp_path / name / '**' / 'vis_data' /
                             'config.py'), recursive=True), name


def test_track_video_none(seq_dir, source_ckpt, tmp_path, capsys):
    model = init_tracker(SYNTH_CONFIG, source_ckpt, 'cpu', TRACK_ALL)
    result = track_video(model, osp.join(seq_dir, 'img1'), max_frames=4,
                         work_dir=str(tmp_path / 'w'))
    assert [t.frame for t in result] == [1, 2, 3, 4]
    assert sum(len(t.ids) for t in result) > 0
    assert all(t.bboxes.shape == (len(t.ids), 4) for t in result)
    assert result.learned_from['frames'] == []
    assert result.learned_from['summary'] == 'none: learned from no frame'
    out = capsys.readouterr().out
    assert '[track] 4/4 frames' in out and 'frames/s' in out and 'ETA' in out
    with pytest.raises(ValueError, match="adapt must be one of"):
        track_video(model, osp.join(seq_dir, 'img1'), adapt='tent')
