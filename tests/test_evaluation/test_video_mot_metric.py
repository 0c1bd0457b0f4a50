"""VideoMOTChallengeMetric evaluates every BDD100K video (``<video>/<frame>``)
as its own sequence, and names MOTChallenge sequences as mmdet does."""
import os.path as osp

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData

from mmdet.registry import METRICS
from mmdet.structures import DetDataSample, TrackDataSample
from mmplug.evaluation import sequence_name

from ..conftest import REPO

FRAMES = 3
BOX = [10.0, 20.0, 60.0, 120.0]  # x1, y1, x2, y2


def _frame(img_path, frame_id, tracked, labelled=True):
    """One frame with one person (labelled or not), tracked (exactly) or
    missed."""
    sample = DetDataSample(metainfo=dict(
        img_path=img_path, frame_id=frame_id, ori_video_length=FRAMES))
    sample.set_field([dict(instance_id=1, bbox=BOX, mot_conf=1.0,
                           category_id=1, visibility=1.0)] * int(labelled),
                     'instances', field_type='metainfo')
    n = int(tracked)
    sample.pred_track_instances = InstanceData(
        bboxes=torch.tensor([BOX] * n).reshape(n, 4),
        instances_id=torch.ones(n, dtype=torch.long),
        scores=torch.ones(n))
    return sample


def _feed(evaluator, root, by_image, videos=('tracked', 'missed')):
    """BDD100K-style videos (``<root>/<video>/<frame>.jpg``): the labelled
    person of ``tracked`` is tracked on every frame, that of ``missed``
    never; ``unlabelled`` has a tracked person without a label (BDD100K
    videos without pedestrians), ``nothing`` neither label nor track."""
    for video in videos:
        frames = [_frame(osp.join(root, video, f'{video}-{i:07d}.jpg'), i,
                         video in ('tracked', 'unlabelled'),
                         video in ('tracked', 'missed'))
                  for i in range(FRAMES)]
        # one frame per call as TrackImgSampler gives, or a whole video
        for batch in ([[f] for f in frames] if by_image else [frames]):
            evaluator.process([TrackDataSample(video_data_samples=batch)])


@pytest.mark.parametrize('by_image', [True, False])
def test_every_bdd_video_is_a_sequence(tmp_path, by_image):
    out = tmp_path / 'out'
    evaluator = _evaluator(out)
    _feed(evaluator, osp.join('data', 'bdd100k', 'images', 'track', 'val'),
          by_image)
    results = evaluator.evaluate(size=2 * FRAMES)
    tracker = out / 'default-tracker'
    assert (tracker / 'missed.txt').is_file()  # no track, empty file
    assert (tracker / 'videoseq.txt').read_text().split() == \
        ['name', 'tracked', 'missed']
    assert len((tracker / 'tracked.txt').read_text().splitlines()) == FRAMES
    # both videos count: 3 of the 6 labelled boxes are found, none wrong
    prefix = 'motchallenge-metric/'
    assert results[prefix + 'TP'] == FRAMES
    assert results[prefix + 'FN'] == FRAMES
    assert results[prefix + 'FP'] == 0
    assert results[prefix + 'MOTA'] == pytest.approx(0.5)
    assert results[prefix + 'IDF1'] == pytest.approx(2 / 3)


def _evaluator(out, **kwargs):
    return Evaluator(METRICS.build(dict(
        type='VideoMOTChallengeMetric', metric=['HOTA', 'CLEAR', 'Identity'],
        outfile_prefix=str(out), **kwargs)))


def test_video_without_labels_counts_its_tracks_as_false(tmp_path):
    evaluator = _evaluator(tmp_path / 'out')
    _feed(evaluator, 'images', True, ('tracked', 'unlabelled', 'nothing'))
    results = evaluator.evaluate(size=3 * FRAMES)
    prefix = 'motchallenge-metric/'
    assert (results[prefix + 'TP'], results[prefix + 'FN'],
            results[prefix + 'FP']) == (FRAMES, 0, FRAMES)
    assert results[prefix + 'MOTA'] == pytest.approx(0.0)


def test_unlabelled_data_is_refused_unless_format_only(tmp_path):
    evaluator = _evaluator(tmp_path / 'out')
    _feed(evaluator, 'images', True, ('unlabelled', 'nothing'))
    with pytest.raises(ValueError, match='format_only=True'):
        evaluator.evaluate(size=2 * FRAMES)
    evaluator = _evaluator(tmp_path / 'fmt', format_only=True)
    _feed(evaluator, 'images', True, ('unlabelled', 'nothing'))
    evaluator.evaluate(size=2 * FRAMES)
    assert (tmp_path / 'fmt' / 'default-tracker' / 'nothing.txt').is_file()


@pytest.mark.parametrize('path, name', [
    ('data/MOT17/train/MOT17-02-FRCNN/img1/000001.jpg', 'MOT17-02-FRCNN'),
    ('data/DanceTrack/val/dancetrack0004/img1/00000001.jpg', 'dancetrack0004'),
    ('data/bdd100k/images/track/val/b1c81faa-3df17267/'
     'b1c81faa-3df17267-0000001.jpg', 'b1c81faa-3df17267'),
    ('/abs/images/b1cac6a7-04e33135/f.jpg', 'b1cac6a7-04e33135'),
])
def test_sequence_name_keeps_mot_names(path, name):
    assert sequence_name(path) == name
    # mmdet's own name for the MOTChallenge layout
    if '/img1/' in path:
        assert path.split('/')[-3] == name


def test_frame_without_video_folder_is_refused():
    with pytest.raises(ValueError, match='no video folder'):
        sequence_name('frame.jpg')


def test_bdd_configs_use_it_and_out_dir_finds_it(tmp_path):
    """The BDD100K configs evaluate with VideoMOTChallengeMetric, and
    ``--out-dir`` points it (a MOTChallengeMetric subclass) at the folder."""
    from mmengine.config import Config

    from mmplug.apis.runner import _write_mot_results
    cfg = Config.fromfile(osp.join(
        REPO, 'configs', 'adabn',
        'adabn_faster-rcnn_r50_fpn_bdd100kval-pedestrian.py'))
    types = [e['type'] for e in cfg.test_evaluator]
    assert types == ['CocoVideoMetric', 'VideoMOTChallengeMetric']
    _write_mot_results(cfg, str(tmp_path / 'tracks'), format_only=True)
    assert [e['type'] for e in cfg.test_evaluator] == types[1:]
    assert cfg.test_evaluator[0].outfile_prefix == str(tmp_path / 'tracks')
