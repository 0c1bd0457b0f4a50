"""tools/track_video.py: the same tracks as tools/test.py on the same
frames (plain and online), the AdaBN tool's statistics, DARTH on the
footage, errors that name the input, and a real clip with the R50 config."""
import json
import os.path as osp

import cv2
import pytest
import torch
from mmengine.config import Config

from mmdet.registry import MODELS

from ..conftest import REPO, SYNTH_CONFIG, retarget_options
from ._run import run_tool

CONFIGS = osp.join(REPO, 'configs')
ONLINE_CONFIG = osp.join(
    CONFIGS, 'darth',
    'darth-online_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')
ADABN_CONFIG = osp.join(
    CONFIGS, 'adabn', 'adabn_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')
R50_MOT17 = osp.join(
    CONFIGS, 'qdtrack',
    'qdtrack_faster-rcnn_r50_fpn_8xb2-4e_mot17halftrain_test-mot17halfval.py')
CLIP = osp.join(REPO, '..', 'shared', 'data', 'real-clip', 'street-8f.mp4')
SEQ = 'synth-s1-v000'
WORKERS = ['test_dataloader.num_workers=0',
           'test_dataloader.persistent_workers=False']
# an untrained model tracks every detection (so the tracks are not empty)
TRACK_ALL = ['model.tracker.init_score_thr=0.0',
             'model.tracker.obj_score_thr=0.0']
# online: and adapts on every frame, with every teacher box a pseudo box
ONLINE_ALL = TRACK_ALL + ['model.conf_thr=0.0', 'test_cfg.skip_conf_thr=None']


@pytest.fixture(scope='module')
def source_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(SYNTH_CONFIG).model)
    path = str(tmp_path_factory.mktemp('source') / 'source.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def _frames(root):
    return osp.join(root, 'val', SEQ, 'img1')


def _test_py(config, ckpt, root, out, *options):
    run_tool([osp.join('tools', 'test.py'), config, ckpt, '--work-dir',
              str(out / 'work'), '--out-dir', str(out / 'tracks'),
              '--format-only', '--cfg-options'] + retarget_options(root) +
             WORKERS + list(options))
    return (out / 'tracks' / 'default-tracker' / f'{SEQ}.txt').read_text()


def _track(input_, config, ckpt, out, *args, options=()):
    proc = run_tool([osp.join('tools', 'track_video.py'), input_, config,
                     '--checkpoint', ckpt, '--out-tracks', str(out)] +
                    list(args) + (['--cfg-options'] + list(options)
                                  if options else []))
    info = json.loads((out / f'{SEQ}.adapt.json').read_text())
    return (out / f'{SEQ}.txt').read_text(), info, proc.stdout


@pytest.mark.slow
def test_none_equals_test_py(synth_root, source_ckpt, tmp_path):
    expected = _test_py(SYNTH_CONFIG, source_ckpt, synth_root,
                        tmp_path / 'test', *TRACK_ALL)
    gif = tmp_path / 'out.gif'
    show = tmp_path / 'show'
    tracks, info, stdout = _track(_frames(synth_root), SYNTH_CONFIG,
                                  source_ckpt, tmp_path / 'tool', '--out',
                                  str(gif), '--show-dir', str(show),
                                  options=TRACK_ALL)
    assert expected.count('\n') > 8  # tracks on the frames
    assert tracks == expected
    assert info['learned_from']['frames'] == []
    assert 'none: learned from no frame' in stdout
    assert '[track] 8/8 frames' in stdout
    from PIL import Image
    with Image.open(gif) as im:
        assert im.n_frames == 8 and im.size == (384, 384)
    assert sorted(p.name for p in show.iterdir()) == [
        f'{i:06d}.jpg' for i in range(1, 9)]


@pytest.mark.slow
def test_online_equals_online_config(synth_root, source_ckpt, tmp_path):
    expected = _test_py(ONLINE_CONFIG, source_ckpt, synth_root,
                        tmp_path / 'test', *ONLINE_ALL)
    tracks, info, stdout = _track(_frames(synth_root), SYNTH_CONFIG,
                                  source_ckpt, tmp_path / 'tool', '--adapt',
                                  'online', options=ONLINE_ALL)
    assert tracks == expected
    assert info['learned_from']['frames'] == list(range(1, 9))
    assert 'online: a step on 8 of 8 frames (frames 1-8)' in stdout
    # not vacuous: the steps changed the tracks
    plain, _, _ = _track(_frames(synth_root), SYNTH_CONFIG, source_ckpt,
                         tmp_path / 'plain', options=TRACK_ALL)
    assert plain != tracks


def _adabn_tool(root, ckpt, work):
    """tools/train.py with the AdaBN config on the val video's frames."""
    opts = [o.replace('train_cocoformat', 'val_cocoformat')
             .replace('img_path=train/', 'img_path=val/')
            for o in retarget_options(root)]
    run_tool([osp.join('tools', 'train.py'), ADABN_CONFIG, '--work-dir',
              str(work), '--cfg-options'] + opts + WORKERS +
             ['train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False',
              f'load_from={ckpt}'])
    return str(work / 'epoch_1.pth')


@pytest.mark.slow
def test_adabn_equals_adabn_tool(synth_root, source_ckpt, tmp_path):
    adabn = _adabn_tool(synth_root, source_ckpt, tmp_path / 'adabn')
    expected = _test_py(ADABN_CONFIG, adabn, synth_root, tmp_path / 'test',
                        *TRACK_ALL)
    work = tmp_path / 'work'
    tracks, info, stdout = _track(_frames(synth_root), SYNTH_CONFIG,
                                  source_ckpt, tmp_path / 'tool', '--adapt',
                                  'adabn', '--work-dir', str(work),
                                  options=TRACK_ALL)
    ours = torch.load(work / 'adabn' / 'epoch_1.pth')['state_dict']
    theirs = torch.load(adabn)['state_dict']
    source = torch.load(source_ckpt)['state_dict']
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    means = [k for k in ours if k.endswith('running_mean')]
    assert means and all(not torch.equal(ours[k], source[k]) for k in means)
    assert tracks == expected
    assert info['learned_from']['frames'] == list(range(1, 9))
    assert 'adabn: backbone norm statistics from frames 1-8' in stdout


@pytest.mark.slow
def test_darth_one_iteration(synth_root, source_ckpt, tmp_path):
    work = tmp_path / 'work'
    tracks, info, stdout = _track(_frames(synth_root), SYNTH_CONFIG,
                                  source_ckpt, tmp_path / 'tool', '--adapt',
                                  'darth', '--max-frames', '2', '--work-dir',
                                  str(work), options=TRACK_ALL)
    saved = torch.load(work / 'darth' / 'epoch_1.pth')
    assert saved['meta']['iter'] == 1  # 2 frames, batch 2
    assert info['learned_from']['frames'] == [1, 2]
    assert info['learned_from']['passes'] == 1
    assert 'darth: 1 epoch(s) of unsupervised DARTH steps on frames 1, 2' \
        in stdout
    assert {int(line.split(',')[0]) for line in tracks.splitlines()} == \
        {1, 2}


@pytest.mark.slow
def test_errors_name_the_input(source_ckpt, tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    proc = run_tool([osp.join('tools', 'track_video.py'), str(empty),
                     SYNTH_CONFIG, '--checkpoint', source_ckpt,
                     '--out-tracks', str(tmp_path / 'o')], check=False)
    assert proc.returncode != 0
    assert f'{empty}: no images' in proc.stderr
    proc = run_tool([osp.join('tools', 'track_video.py'),
                     str(tmp_path / 'x.mp4'), SYNTH_CONFIG, '--checkpoint',
                     source_ckpt, '--out', str(tmp_path / 'o.avi')],
                    check=False)
    assert proc.returncode != 0 and 'must be .mp4 or .gif' in proc.stderr
    assert not (tmp_path / 'o').exists()


@pytest.fixture(scope='module')
def r50_ckpt(tmp_path_factory):
    """Random R50 MOT17 QDTrack weights (nothing can be downloaded: the
    config's Pretrained init is never run, the weights are saved as is)."""
    cfg = Config.fromfile(R50_MOT17)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    path = str(tmp_path_factory.mktemp('r50') / 'r50.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


@pytest.mark.slow
@pytest.mark.skipif(not osp.isfile(CLIP),
                    reason=f'the real clip {CLIP} is not there (it comes '
                    'with the shared data, ../shared/data/real-clip)')
def test_real_clip_r50_online(r50_ckpt, tmp_path):
    out = tmp_path / 'out.mp4'
    proc = run_tool([osp.join('tools', 'track_video.py'), CLIP, R50_MOT17,
                     '--checkpoint', r50_ckpt, '--adapt', 'online',
                     '--max-frames', '3', '--out-tracks',
                     str(tmp_path / 'tracks'), '--out', str(out),
                     '--cfg-options'] + TRACK_ALL)
    assert '[track] 3/3 frames' in proc.stdout
    info = json.loads((tmp_path / 'tracks' / 'street-8f.adapt.json')
                      .read_text())
    assert info['frames'] == 3 and info['adapt'] == 'online'
    lines = (tmp_path / 'tracks' / 'street-8f.txt').read_text().splitlines()
    assert lines  # random weights, every detection tracked
    for line in lines:
        assert len(line.split(',')) == 10 and 1 <= int(line[0]) <= 3
    cap = cv2.VideoCapture(str(out))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 3
    ok, frame = cap.read()
    assert ok and frame.shape == (540, 960, 3)
    cap.release()
