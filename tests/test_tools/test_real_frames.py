"""Every R50 config on real frames, through tools/train.py and tools/test.py.

Each R50 config (QDTrack, DARTH, online DARTH, AdaBN; MOT17 / DanceTrack /
BDD100K) trains or adapts one iteration and is tested on real frames at the
configs' own resolution, from random source weights (nothing can be
downloaded):

- the BDD100K sample (``../shared/data/bdd100k-sample``, 1280 x 720,
  labelled), converted with ``convert_bdd_labels``: QDTrack trains on its
  pedestrian video, the BDD100K configs adapt and are evaluated on it;
- the real clip ``../shared/data/real-clip/street-8f.mp4`` (1920 x 1080, no
  labels), its frames written as a MOTChallenge sequence and converted with
  mot2coco: the MOT17 / DanceTrack configs adapt and track on it (tracks
  written with ``--out-dir --format-only``, as there is no ground truth).

Shrunk in frames (training / adaptation on one frame, batch 1; tests on
``FRAMES`` per video) and iterations (one), never in resolution. One config of each family runs in CI (``slow``); the others
are also marked ``real_all``, deselected by default (setup.cfg):

    pytest -p no:xdist -m real_all tests/test_tools/test_real_frames.py
"""
import configparser
import json
import os.path as osp

import pytest
import torch

from ..conftest import REPO
from ._run import run_tool

DATA = osp.join(osp.dirname(REPO), 'shared', 'data')
BDD = osp.join(DATA, 'bdd100k-sample')
CLIP = osp.join(DATA, 'real-clip', 'street-8f.mp4')
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (osp.isdir(BDD) and osp.isfile(CLIP)),
                       reason=f'real test data not found in {DATA}')
]

FRAMES = 2  # per video
BDD_PEDESTRIAN_VIDEO = 'b1cac6a7-04e33135'  # the other one has no person
# logit of 'pedestrian' over background in the random box classifier, so
# that tracks start (init_score_thr 0.9) and DARTH's teacher gives pseudo
# boxes (conf_thr 0.7): a random head scores every box about 0.5
CONFIDENT_LOGIT = 4.0

R50 = dict(
    qdtrack_mot17='qdtrack/qdtrack_faster-rcnn_r50_fpn_8xb2-4e_'
    'mot17halftrain_test-mot17halfval.py',
    qdtrack_dancetrack='qdtrack/qdtrack_faster-rcnn_r50_fpn_8xb2-4e_'
    'dancetrack.py',
    darth_mot17='darth/darth_faster-rcnn_r50_fpn_4e_mot17halfval.py',
    darth_dancetrack='darth/darth_faster-rcnn_r50_fpn_4e_dancetrackval.py',
    darth_bdd='darth/darth_faster-rcnn_r50_fpn_4e_bdd100kval-pedestrian.py',
    online_mot17='darth/darth-online_faster-rcnn_r50_fpn_mot17halfval.py',
    online_dancetrack='darth/darth-online_faster-rcnn_r50_fpn_'
    'dancetrackval.py',
    online_bdd='darth/darth-online_faster-rcnn_r50_fpn_'
    'bdd100kval-pedestrian.py',
    adabn_mot17='adabn/adabn_faster-rcnn_r50_fpn_mot17halfval.py',
    adabn_dancetrack='adabn/adabn_faster-rcnn_r50_fpn_dancetrackval.py',
    adabn_bdd='adabn/adabn_faster-rcnn_r50_fpn_bdd100kval-pedestrian.py')
# the one of each family that CI runs: together they cover every data set
# base (mot_challenge, dancetrack_target, mot17_target, bdd100k_target);
# the costly DARTH step gets the cheap test (2 clip frames), the cheap AdaBN
# pass the evaluation on labelled frames (2 BDD100K videos)
CI = ('qdtrack_mot17', 'darth_dancetrack', 'online_mot17', 'adabn_bdd')
CASES = [
    pytest.param(name, marks=() if name in CI else pytest.mark.real_all)
    for name in R50
]

RUNTIME = [f'{split}_dataloader.{key}' for split in ('train', 'test')
           for key in ('num_workers=0', 'persistent_workers=False')] + \
    ['default_hooks.logger.interval=1']
# no validation (mmengine validates after the last epoch whatever
# val_interval says; the clip has no labels to validate on)
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']


def _first_frame(ann_file, out):
    """``ann_file`` (COCO-video JSON) cut to the first frame of its first
    video: one iteration of batch 1 trains or adapts on it."""
    with open(ann_file) as f:
        coco = json.load(f)
    image = min(coco['images'], key=lambda i: (i['video_id'], i['frame_id']))
    coco['videos'] = [v for v in coco['videos']
                      if v['id'] == image['video_id']]
    coco['images'] = [image]
    coco['annotations'] = [a for a in coco['annotations']
                           if a['image_id'] == image['id']]
    with open(out, 'w') as f:
        json.dump(coco, f)
    return out


@pytest.fixture(scope='module')
def bdd_data(tmp_path_factory):
    """The first FRAMES frames of each sample video, converted (``test``,
    labelled), and the first of the pedestrian video (``train``)."""
    from mmplug.datasets.converters.bdd import convert_bdd_labels
    root = tmp_path_factory.mktemp('bdd')
    out = {}
    for split, videos in (('test', None), ('train', [BDD_PEDESTRIAN_VIDEO])):
        labels = root / f'labels-{split}'
        labels.mkdir()
        for video in videos or ['b1c81faa-3df17267', BDD_PEDESTRIAN_VIDEO]:
            with open(osp.join(BDD, 'labels', f'{video}.json')) as f:
                data = json.load(f)
            data['frames'] = sorted(
                data['frames'], key=lambda fr: fr['frameIndex'])[:FRAMES]
            (labels / f'{video}.json').write_text(json.dumps(data))
        out[split] = str(root / f'{split}.json')
        convert_bdd_labels(str(labels), out[split])
    _first_frame(out['train'], out['train'])
    return dict(root=BDD, img='images/', **out)


@pytest.fixture(scope='module')
def clip_data(tmp_path_factory):
    """The clip's first FRAMES frames as a MOTChallenge sequence (img1/,
    seqinfo.ini, no gt), converted by mot2coco."""
    import cv2

    from mmplug.datasets.converters import convert_mot_root
    root = tmp_path_factory.mktemp('clip')
    seq = root / 'val' / 'street-8f'
    (seq / 'img1').mkdir(parents=True)
    video = cv2.VideoCapture(CLIP)
    for i in range(1, FRAMES + 1):
        ok, frame = video.read()
        assert ok, f'{CLIP}: cannot read frame {i}'
        cv2.imwrite(str(seq / 'img1' / f'{i:06d}.jpg'), frame)
    fps = video.get(cv2.CAP_PROP_FPS)
    video.release()
    info = configparser.ConfigParser()
    info.optionxform = str
    info['Sequence'] = dict(name='street-8f', imDir='img1', frameRate=fps,
                            seqLength=FRAMES, imWidth=frame.shape[1],
                            imHeight=frame.shape[0], imExt='.jpg')
    with open(seq / 'seqinfo.ini', 'w') as f:
        info.write(f)
    convert_mot_root(str(root), str(root / 'annotations'))
    ann = str(root / 'annotations' / 'val_cocoformat.json')
    train = _first_frame(ann, str(root / 'annotations' / 'first.json'))
    return dict(root=str(root), img='val/', train=train, test=ann)


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    """Random R50 QDTrack weights (confident box classifier): the whole
    model (``load_from``) and, for the QDTrack configs' ``init_cfg``, the
    detector and the ResNet-50 backbone as local files."""
    from mmengine.config import Config

    from mmplug.apis.step_benchmark import random_source_checkpoint
    root = tmp_path_factory.mktemp('weights')
    source = str(root / 'source.pth')
    random_source_checkpoint(
        Config.fromfile(osp.join(REPO, 'configs', R50['qdtrack_mot17'])),
        source)
    state = torch.load(source, map_location='cpu')['state_dict']
    cls = 'detector.roi_head.bbox_head.fc_cls.bias'
    state[cls] = torch.tensor([CONFIDENT_LOGIT, -CONFIDENT_LOGIT])
    torch.save(dict(state_dict=state), source)
    parts = dict(source=source)
    for name, prefix in (('detector', 'detector.'),
                         ('backbone', 'detector.backbone.')):
        parts[name] = str(root / f'{name}.pth')
        torch.save(dict(state_dict={k[len(prefix):]: v
                                    for k, v in state.items()
                                    if k.startswith(prefix)}), parts[name])
    return parts


def _point(split, data, ann):
    key = f'{split}_dataloader.dataset'
    return [f'{key}.data_root={data["root"]}/', f'{key}.ann_file={ann}',
            f'{key}.data_prefix.img_path={data["img"]}']


def _train_options(name, train, weights):
    """One iteration: one frame, batch 1, one epoch, no validation. A
    one-frame video is its own QDTrack reference frame (mmdet's
    UniformRefFrameSample), differently cropped."""
    options = _point('train', train, train['train']) + NO_VAL + [
        'train_dataloader.batch_size=1']
    if name.startswith('adabn'):  # AdaBNLoop: one pass
        return options + ['load_from=' + weights['source']]
    options.append('train_cfg.max_epochs=1')
    if name.startswith('qdtrack'):
        return options + [
            'model.detector.init_cfg.checkpoint=' + weights['detector'],
            'model.detector.backbone.init_cfg.checkpoint=' +
            weights['backbone']]
    return options + ['load_from=' + weights['source']]


def _state(path):
    return torch.load(path, map_location='cpu')['state_dict']


def _check_trained(name, ckpt, weights, log):
    """One iteration ran and changed the model as its method should."""
    assert 'Epoch(train) [1][1/1]' in log or name.startswith('adabn'), log
    state, source = _state(ckpt), _state(weights['source'])
    if name.startswith('adabn'):  # target statistics, weights kept
        key = 'detector.backbone.layer2.0.bn1.running_mean'
        assert not torch.allclose(state[key], source[key])
        key = 'detector.backbone.layer2.0.conv1.weight'
        assert torch.equal(state[key], source[key])
        return
    # the source weights were loaded (from the local init_cfg files for
    # QDTrack) and the frozen stem stayed; the trained parts moved
    key = 'detector.backbone.conv1.weight'
    assert torch.equal(state[key], source[key])
    key = 'detector.rpn_head.rpn_conv.weight'
    assert not torch.equal(state[key], source[key])
    assert torch.isfinite(state[key]).all()
    if name.startswith('darth'):  # teacher = EMA of the student
        assert 'teacher_detector.rpn_head.rpn_conv.weight' in state
    scalars = [json.loads(line) for line in open(log_scalars(ckpt))]
    losses = [s['loss'] for s in scalars if 'loss' in s]
    assert len(losses) == 1 and losses[0] == losses[0], scalars  # not NaN


def log_scalars(ckpt):
    """The runner's ``vis_data/scalars.json`` beside ``ckpt``."""
    import glob
    found = glob.glob(osp.join(osp.dirname(ckpt), '*', 'vis_data',
                               'scalars.json'))
    assert len(found) == 1, found
    return found[0]


def _check_tracks(out_dir, videos):
    """MOTChallenge rows for every video: frame in 1..FRAMES, ids >= 0
    (QDTrack counts from 0)."""
    for video in videos:
        path = osp.join(out_dir, 'default-tracker', f'{video}.txt')
        rows = [line.split(',') for line in open(path).read().splitlines()]
        assert rows, f'{path} is empty'
        assert all(len(r) == 10 for r in rows)
        assert {int(float(r[0])) for r in rows} <= set(range(1, FRAMES + 1))
        assert all(int(float(r[1])) >= 0 for r in rows)


@pytest.mark.parametrize('name', CASES)
def test_r50_config_on_real_frames(name, bdd_data, clip_data, weights,
                                   tmp_path):
    config = osp.join('configs', R50[name])
    bdd = name.endswith('bdd')
    test_data = bdd_data if bdd else clip_data
    train_data = bdd_data if bdd or name.startswith('qdtrack') else clip_data
    options = RUNTIME + _point('test', test_data, test_data['test'])
    if name.startswith('online'):  # adapts while testing the source model
        ckpt = weights['source']
        # adapt on every frame: the skip rule would skip confident frames
        options += ['test_cfg.skip_conf_thr=None']
    else:
        work = tmp_path / 'train'
        proc = run_tool(['tools/train.py', config, '--work-dir', str(work),
                         '--cfg-options'] + options +
                        _train_options(name, train_data, weights))
        ckpt = str(work / 'epoch_1.pth')
        _check_trained(name, ckpt, weights, proc.stdout + proc.stderr)
    out_dir = tmp_path / 'tracks'
    args = ['tools/test.py', config, ckpt, '--work-dir',
            str(tmp_path / 'test'), '--out-dir', str(out_dir)]
    if not bdd:
        args.append('--format-only')  # the clip has no labels
    run_tool(args + ['--cfg-options'] + options)
    metrics = json.loads((tmp_path / 'test' / 'metrics.json').read_text())
    if bdd:
        for key in ('HOTA', 'MOTA', 'IDF1', 'bbox_mAP'):
            assert isinstance(metrics[key], float), (key, metrics)
        # one sequence per video (VideoMOTChallengeMetric; mmdet's metric
        # named both 'images' and evaluated the last one only)
        seqmap = osp.join(out_dir, 'default-tracker', 'videoseq.txt')
        assert sorted(open(seqmap).read().split()[1:]) == sorted(
            ['b1c81faa-3df17267', BDD_PEDESTRIAN_VIDEO]), seqmap
        _check_tracks(out_dir, [BDD_PEDESTRIAN_VIDEO])
    else:
        _check_tracks(out_dir, ['street-8f'])
    if name.startswith('online'):
        assert metrics['adapted_fraction'] == 1.0, metrics  # every frame
