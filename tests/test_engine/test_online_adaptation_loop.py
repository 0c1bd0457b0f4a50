"""OnlineAdaptationTestLoop: track a frame, then learn from it; never read a
label; obey the frame order and the reset rule; same results in one or
two processes."""
import copy
import json
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from mmdet.registry import MODELS
from mmplug.apis.runner import build_runner
from mmplug.engine.runner import online_adaptation_loop as loop_module
from mmplug.engine.runner.online_adaptation_loop import \
    OnlineAdaptationTestLoop

from ..conftest import REPO, SYNTH_CONFIG

ONLINE_CONFIG = osp.join(
    REPO, 'configs', 'darth',
    'darth-online_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')


@pytest.fixture(scope='module')
def source_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(SYNTH_CONFIG).model)
    path = str(tmp_path_factory.mktemp('online') / 'source.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def online_cfg(root, work_dir, ckpt, ann='train', **test_cfg):
    """The online config on ``root/<ann>`` (2 videos x 8 frames for
    train), adapting on every frame, with an untrained model whose every
    detection is tracked (so that tracks exist and depend on the weights)."""
    cfg = Config.fromfile(ONLINE_CONFIG)
    ds = cfg.test_dataloader.dataset
    ds.data_root = root + '/'
    ds.ann_file = f'annotations/{ann}_cocoformat.json'
    ds.data_prefix = dict(img_path=f'{ann}/')
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    cfg.model.conf_thr = 0.0
    cfg.model.tracker.update(init_score_thr=0.0, obj_score_thr=0.0)
    cfg.test_cfg.update(dict(skip_conf_thr=None), **test_cfg)
    cfg.test_evaluator = [dict(type='MOTChallengeMetric',
                               metric=['HOTA', 'CLEAR', 'Identity'])]
    cfg.work_dir = work_dir
    cfg.load_from = ckpt
    return cfg


def run(cfg):
    runner = build_runner(cfg)
    return runner, runner.test()


def tracks(runner):
    """Every tracked frame's boxes and ids, as the loop produced them."""
    return runner.test_loop.recorded


@pytest.fixture
def record_tracks(monkeypatch):
    """Record (img_path, boxes, ids) of every tracked frame."""
    orig = OnlineAdaptationTestLoop.track

    def track(self, idx, data_batch):
        outputs = orig(self, idx, data_batch)
        frame = outputs[0][0]
        self.__dict__.setdefault('recorded', []).append(
            (frame.img_path, frame.pred_track_instances.bboxes.clone(),
             frame.pred_track_instances.instances_id.clone()))
        return outputs

    monkeypatch.setattr(OnlineAdaptationTestLoop, 'track', track)


def test_no_label_is_read(synth_root, source_ckpt, tmp_path, record_tracks):
    clean_runner, clean = run(online_cfg(synth_root, str(tmp_path / 'a'),
                                         source_ckpt))
    # the same data with every ground-truth box NaN
    root = tmp_path / 'nan'
    shutil.copytree(synth_root, root)
    ann = root / 'annotations' / 'train_cocoformat.json'
    data = json.loads(ann.read_text())
    for a in data['annotations']:
        a['bbox'] = [float('nan')] * 4
    ann.write_text(json.dumps(data))
    cfg = online_cfg(str(root), str(tmp_path / 'b'), source_ckpt)
    cfg.test_evaluator[0].format_only = True  # NaN boxes cannot be scored
    cfg.test_evaluator[0].outfile_prefix = str(tmp_path / 'b' / 'out')
    nan_runner, metrics = run(cfg)
    assert clean['online/adapted_fraction'] == 1.0
    assert metrics['online/adapted_fraction'] == 1.0
    a, b = tracks(clean_runner), tracks(nan_runner)
    assert len(a) == len(b) == 16 and sum(len(t[2]) for t in a) > 0
    for (pa, ba, ia), (pb, bb, ib) in zip(a, b):
        assert osp.basename(pa) == osp.basename(pb)
        assert torch.equal(ba, bb) and torch.equal(ia, ib)
    # and adaptation did change the tracks (the comparison is not vacuous)
    frozen_runner, _ = run(online_cfg(synth_root, str(tmp_path / 'c'),
                                      source_ckpt, interval=1000))
    assert any(not torch.equal(x[1], y[1]) for x, y in
               zip(a, tracks(frozen_runner)) if len(x[1]) == len(y[1]))


@pytest.mark.parametrize('reset', ['video', 'never'])
def test_frame_order_and_reset(synth_root, source_ckpt, tmp_path, reset,
                               monkeypatch):
    events = []
    L = OnlineAdaptationTestLoop
    track, adapt, do_reset = L.track, L.adapt, L._reset

    def spy_track(self, idx, data_batch):
        frame = data_batch['data_samples'][0][0]
        weight = self.model.detector.roi_head.bbox_head.fc_cls.weight
        events.append(('track', frame.video_id, frame.frame_id,
                       frame.img_path, weight.detach().clone()))
        return track(self, idx, data_batch)

    def spy_adapt(self, adapt_batch):
        view = adapt_batch['data_samples'][0].video_data_samples[0]
        events.append(('adapt', view.video_id, view.frame_id, view.img_path))
        return adapt(self, adapt_batch)

    def spy_reset(self):
        events.append(('reset', ))
        return do_reset(self)

    monkeypatch.setattr(L, 'track', spy_track)
    monkeypatch.setattr(L, 'adapt', spy_adapt)
    monkeypatch.setattr(L, '_reset', spy_reset)
    run(online_cfg(synth_root, str(tmp_path / 'w'), source_ckpt,
                   reset=reset))
    tracked = [e for e in events if e[0] == 'track']
    assert [(e[1], e[2]) for e in tracked] == [
        (v, f) for v in (1, 2) for f in range(8)]  # the dataset's order
    i = 0
    for e in tracked:  # reset?, track t, adapt t: never ahead of the stream
        if reset == 'video' and e[2] == 0:
            assert events[i] == ('reset', )
            i += 1
        assert events[i][0] == 'track' and events[i + 1][0] == 'adapt'
        assert events[i + 1][3] == e[3]  # adapts on the frame just tracked
        i += 2
    assert i == len(events)
    source = torch.load(source_ckpt)['state_dict'][
        'detector.roi_head.bbox_head.fc_cls.weight']
    start_v2 = tracked[8][4]
    assert torch.equal(tracked[0][4], source)
    assert not torch.equal(tracked[1][4], source)  # it learned from frame 0
    assert torch.equal(start_v2, source) == (reset == 'video')


def test_continual_with_several_processes_is_refused(monkeypatch):
    monkeypatch.setattr(loop_module, 'get_world_size', lambda: 2)
    with pytest.raises(ValueError, match="reset='never' .* with 2 processes"):
        OnlineAdaptationTestLoop(None, None, None, optim_wrapper={},
                                 reset='never')


@pytest.mark.parametrize('kwargs, match', [
    (dict(reset='frame'), 'reset must be one of'),
    (dict(track_with='both'), 'track_with must be one of'),
    (dict(interval=0), 'interval must be an int >= 1'),
    (dict(ema_momentum=2.0), r'ema_momentum must be in \[0, 1\]'),
    (dict(skip_conf_thr=1.5), 'skip_conf_thr must be None or in'),
    (dict(bn_momentum=0.0), 'bn_momentum must be None or in'),
    (dict(trainable=[]), 'trainable must be None or a non-empty list'),
])
def test_bad_arguments(kwargs, match):
    kwargs = {**dict(track_with='student'), **kwargs}
    with pytest.raises(ValueError, match=match):
        OnlineAdaptationTestLoop(None, None, None, optim_wrapper={},
                                 **kwargs)


class _ToyTeacherStudent(torch.nn.Module):
    """A student weight and its teacher copy; the loss pulls w to 1."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.full((1, ), 0.5))
        self.register_buffer('teacher_w', torch.zeros(1))

    def data_preprocessor(self, data, training):
        return data

    def loss(self):
        return dict(loss=((self.w - 1)**2).sum())

    def parse_losses(self, losses):
        return losses['loss'], {}


@pytest.mark.parametrize('counts', [1, 2])
def test_ema_once_per_optimiser_step(counts):
    """With accumulative_counts=k the student changes every k-th step
    call, and the teacher's EMA with it (not after every backward pass)."""
    from types import SimpleNamespace

    from mmengine.optim import OptimWrapper
    model = _ToyTeacherStudent()
    loop = OnlineAdaptationTestLoop.__new__(OnlineAdaptationTestLoop)
    loop._runner = SimpleNamespace(model=model)
    loop.ema_momentum = 0.5
    loop._pairs = [(model.teacher_w, model.w)]
    loop._modes = dict(train=[], eval=[])
    loop.optim_wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.25),
        accumulative_counts=counts)
    teachers = []
    for _ in range(4):
        loop._step({})
        teachers.append(model.teacher_w.item())
    # the teacher moves exactly when the student has stepped
    moved = [b != a for a, b in zip([0.0] + teachers, teachers)]
    assert moved == [(i + 1) % counts == 0 for i in range(4)]


def test_needs_adaptation_inputs(synth_root, source_ckpt, tmp_path):
    cfg = online_cfg(synth_root, str(tmp_path / 'w'), source_ckpt)
    pipeline = cfg.test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset.pipeline = pipeline[0]['track']
    with pytest.raises(KeyError, match='wrap the test pipeline in '
                       'TrackAndAdaptInputs'):
        run(cfg)
    assert copy  # (imported for the fixtures above)


def test_deferred_views(synth_root, source_ckpt, tmp_path, record_tracks,
                        monkeypatch):
    """The views are made in the loop, only for the frames adapted on (a
    worker process only packs the frame), and equal the eager ones."""
    from mmplug.datasets.transforms import TrackAndAdaptInputs
    made = []
    orig = TrackAndAdaptInputs.views

    def views(self, frame):
        made.append(frame.frame['frame_id'])
        return orig(self, frame)

    monkeypatch.setattr(TrackAndAdaptInputs, 'views', views)
    cfg = online_cfg(synth_root, str(tmp_path / 'a'), source_ckpt, interval=3)
    cfg.test_dataloader.num_workers = 1  # DeferredViews cross a process
    deferred_runner, deferred = run(cfg)
    assert made == [f for _ in range(2) for f in range(8) if f % 3 == 0]
    eager = online_cfg(synth_root, str(tmp_path / 'b'), source_ckpt,
                       interval=3)
    eager.test_dataloader.dataset.pipeline[0].defer = False
    eager_runner, metrics = run(eager)
    assert len(made) == 6 + 16  # eager: views of every frame (in-process,
    # num_workers=0, so the patched method sees them)
    a, b = tracks(deferred_runner), tracks(eager_runner)
    assert len(a) == len(b) == 16
    for (pa, ba, ia), (pb, bb, ib) in zip(a, b):
        assert pa == pb and torch.equal(ba, bb) and torch.equal(ia, ib)
    assert deferred['online/adapted_fraction'] == 6 / 16


def test_views_follow_the_run_seed(synth_root, source_ckpt, tmp_path,
                                   monkeypatch):
    """The adaptation views are seeded by randomness.seed (the runner's):
    two seeds give different crops and colours, the same seed the same."""

    class Stop(Exception):
        pass

    def first_views(seed, name):
        cfg = online_cfg(synth_root, str(tmp_path / name), source_ckpt)
        cfg.randomness = dict(seed=seed)

        def run_iter(self, idx, data_batch):
            inputs = self.views(data_batch['adapt'])['inputs']
            # PackMultiViewInputs: {view: [image of each frame]}, unpadded
            raise Stop([img for imgs in inputs.values() for img in imgs])

        monkeypatch.setattr(OnlineAdaptationTestLoop, 'run_iter', run_iter)
        with pytest.raises(Stop) as stop:
            run(cfg)
        return stop.value.args[0]

    a, again, b = (first_views(1, 'a'), first_views(1, 'again'),
                   first_views(2, 'b'))
    assert all(torch.equal(x, y) for x, y in zip(a, again))
    assert not all(x.shape == y.shape and torch.equal(x, y)
                   for x, y in zip(a, b))
