import numpy as np
import pytest

from mmdet.registry import DATASETS, TRANSFORMS
from mmplug.datasets import MultiViewPipeline, UnlabeledVideoDataset


def _frame():
    img = np.random.default_rng(0).integers(0, 255, (60, 80, 3), np.uint8)
    return dict(img=img, img_shape=(60, 80), ori_shape=(60, 80), img_id=3,
                img_path='a/img1/000001.jpg')


def test_views_chain_and_record_homography():
    np.random.seed(0)
    pipe = TRANSFORMS.build(dict(
        type='MultiViewPipeline',
        views=dict(
            pseudo=dict(transforms=[dict(type='Resize', scale=(40, 40),
                                         keep_ratio=True)]),
            teacher=dict(source='pseudo', transforms=[
                dict(type='RandomFlip', prob=1.0)]),
            student=dict(source='teacher', transforms=[
                dict(type='PhotoMetricDistortion')]))))
    out = pipe(_frame())
    assert out['view'] == ['pseudo', 'teacher', 'student']
    assert out['img_id'] == [3, 3, 3]
    h_teacher, h_student = out['view_homography'][1:]
    np.testing.assert_allclose(h_teacher, h_student)  # same geometry
    w = out['img_shape'][1][1]
    np.testing.assert_allclose(h_teacher, [[-1, 0, w], [0, 1, 0], [0, 0, 1]])
    assert not np.array_equal(out['img'][1], out['img'][2])  # photometric


def test_packs_as_a_multi_frame_sample():
    pipe = TRANSFORMS.build(dict(
        type='MultiViewPipeline',
        views=dict(a=dict(transforms=[]), b=dict(source='a',
                                                 transforms=[]))))
    pack = TRANSFORMS.build(dict(type='PackTrackInputs',
                                 meta_keys=('view', 'view_homography')))
    packed = pack(pipe(_frame()))
    assert packed['inputs'].shape == (2, 3, 60, 80)
    views = packed['data_samples'].video_data_samples
    assert [v.metainfo['view'] for v in views] == ['a', 'b']


@pytest.mark.parametrize('views, match', [
    ({}, 'at least one view'),
    (dict(a=dict(source='b', transforms=[])), "source 'b' must be an "
     'earlier view'),
    (dict(a=dict(transform=[])), 'unknown keys'),
])
def test_bad_arguments(views, match):
    with pytest.raises(ValueError, match=match):
        MultiViewPipeline(views)


def test_unlabeled_dataset_drops_annotations(synth_root):
    dataset = DATASETS.build(dict(
        type='UnlabeledVideoDataset', data_root=synth_root + '/',
        ann_file='annotations/train_cocoformat.json',
        data_prefix=dict(img_path='train/'),
        metainfo=dict(classes=('pedestrian', )),
        pipeline=[dict(type='LoadImageFromFile')]))
    assert isinstance(dataset, UnlabeledVideoDataset)
    item = dataset[(1, 2)]
    assert item['img'].shape[:2] == (96, 96)
    assert item['instances'] == []
    assert item['img_path'].endswith('synth-s0-v001/img1/000003.jpg')
    with pytest.raises(ValueError, match=r'indexed by \(video, frame\)'):
        dataset[0]


def test_photometric_before_padding_keeps_padding_identical():
    """DARTH's S = photometric(T): inside the image only; the padded area of
    S and T is the same (and P's too)."""
    np.random.seed(1)
    pipe = TRANSFORMS.build(dict(
        type='MultiViewPipeline',
        views=dict(
            pseudo=dict(transforms=[]),
            teacher=dict(transforms=[dict(type='RandomFlip', prob=1.0)]),
            student=dict(source='teacher', transforms=[
                dict(type='PhotoMetricDistortion')])),
        post=[dict(type='Pad', size=(96, 96))]))
    out = pipe(_frame())
    pseudo, teacher, student = out['img']
    assert pseudo.shape == teacher.shape == student.shape == (96, 96, 3)
    h, w = 60, 80  # the frame (mmdet's Pad sets img_shape to the padding)
    pad = np.ones((96, 96), bool)
    pad[:h, :w] = False
    assert np.array_equal(student[pad], teacher[pad])
    assert np.array_equal(student[pad], pseudo[pad])
    assert not np.array_equal(student[:h, :w], teacher[:h, :w])
    np.testing.assert_allclose(out['view_homography'][1],
                               out['view_homography'][2])


def test_rejecting_transform_and_frame_are_named():
    @TRANSFORMS.register_module(force=True)
    class _RejectAll:
        def __call__(self, results):
            return None

        def __repr__(self):
            return '_RejectAll()'

    pipe = MultiViewPipeline(dict(
        a=dict(transforms=[]),
        b=dict(transforms=[dict(type='RandomFlip', prob=1.0),
                           dict(type='_RejectAll')])))
    with pytest.raises(ValueError, match=r"view 'b': _RejectAll\(\) rejected "
                       r'frame a/img1/000001.jpg'):
        pipe(_frame())


def _synth_frame(path, h=60, w=80):
    import cv2
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)
    cv2.imwrite(str(path), img)
    return dict(img_path=str(path), img_id=0, frame_id=0, video_id=1,
                ori_shape=(h, w))


def _target_views(config, frame, seed=0):
    """The config's DARTH train pipeline on ``frame``, as a packed item."""
    from mmengine.config import Config
    from mmengine.dataset import Compose
    cfg = Config.fromfile(config)
    np.random.seed(seed)
    return Compose(cfg.darth_train_pipeline)(dict(frame))


def test_darth_views_unpadded_p_at_train_resolution(tmp_path):
    """MOT17 target: P is DARTH's train-pipeline frame (1920 x 1080, not
    downsized); T / S / C come from the loaded frame; nothing is padded."""
    import os.path as osp

    from ..conftest import REPO
    config = osp.join(REPO, 'configs', '_base_', 'datasets',
                      'mot_target.py')
    item = _target_views(config, _synth_frame(tmp_path / 'f.jpg', 480, 640))
    views = item['data_samples'].video_data_samples
    assert [v.metainfo['view'] for v in views] == [
        'pseudo', 'teacher', 'student', 'contrastive']
    p = views[0]
    assert p.metainfo['img_shape'] == (1080, 1920)
    assert tuple(item['inputs']['pseudo'].shape) == (3, 1080, 1920)
    for view in views[1:]:  # each its own size: no padding in the pipeline
        h, w = view.metainfo['img_shape']
        assert tuple(item['inputs'][view.metainfo['view']].shape) == (3, h,
                                                                       w)
        assert h <= 1088 and w <= 1088  # crops of at most img_scale
    assert views[1].metainfo['img_shape'] == views[2].metainfo['img_shape']


def test_preprocessor_pads_each_view_after_normalisation(tmp_path):
    """Padding is 0 after normalisation (the mean colour, as DARTH and
    mmdet), to the view's batch maximum rounded to 32; T, S and C share
    one shape, P has its own."""
    import os.path as osp

    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate

    from mmdet.registry import MODELS
    from ..conftest import REPO
    config = osp.join(REPO, 'configs', 'darth',
                      'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')
    cfg = Config.fromfile(config)
    items = [
        _target_views(config, _synth_frame(tmp_path / 'a.jpg', 96, 96), 0),
        _target_views(config, _synth_frame(tmp_path / 'b.jpg', 72, 96), 1)
    ]
    pre = MODELS.build(cfg.model.data_preprocessor)
    data = pre(pseudo_collate(items), True)
    inputs = data['inputs']
    names = ['pseudo', 'teacher', 'student', 'contrastive']
    # P is the resized frame itself (not padded to a square in the
    # pipeline): the 72 x 96 frame's padding is the preprocessor's
    assert [s.video_data_samples[0].metainfo['img_shape']
            for s in data['data_samples']] == [(192, 192), (144, 192)]
    shapes = {}
    for v, name in enumerate(names):
        samples = [s.video_data_samples[v] for s in data['data_samples']]
        img_shapes = [s.metainfo['img_shape'] for s in samples]
        shapes[name] = samples[0].metainfo['batch_input_shape']
        assert all(s.metainfo['batch_input_shape'] == shapes[name]
                   for s in samples)
        for i, (h, w) in enumerate(img_shapes):
            img = inputs[i, v]
            pad = torch.ones(img.shape[-2:], dtype=torch.bool)
            pad[:h, :w] = False
            assert torch.all(img[:, pad] == 0), (name, i)  # mean colour
            assert img[:, :h, :w].abs().sum() > 0
            assert samples[i].metainfo['pad_shape'] == (
                -(-h // 32) * 32, -(-w // 32) * 32)
        if name == 'pseudo':
            hs, ws = zip(*img_shapes)
            assert shapes[name] == (-(-max(hs) // 32) * 32,
                                    -(-max(ws) // 32) * 32)
    group = [shapes[n] for n in names[1:]]
    assert group[0] == group[1] == group[2]
    tsc = [s.video_data_samples[v].metainfo['img_shape']
           for s in data['data_samples'] for v in (1, 2, 3)]
    assert group[0] == (-(-max(h for h, _ in tsc) // 32) * 32,
                        -(-max(w for _, w in tsc) // 32) * 32)
    # a tracking batch (tensor inputs) is TrackDataPreprocessor's
    from mmdet.structures import DetDataSample, TrackDataSample
    sample = TrackDataSample()
    sample.video_data_samples = [DetDataSample(metainfo=dict(
        img_shape=(40, 50)))]
    track = dict(inputs=[torch.zeros(1, 3, 40, 50, dtype=torch.uint8)],
                 data_samples=[sample])
    assert pre(track)['inputs'].shape == (1, 1, 3, 64, 64)


def test_pack_multi_view_needs_views():
    pack = TRANSFORMS.build(dict(type='PackMultiViewInputs'))
    with pytest.raises(KeyError, match='output of MultiViewPipeline'):
        pack(_frame())


def test_preprocessor_bad_view_groups():
    from mmdet.registry import MODELS
    with pytest.raises(ValueError, match='each view in one group'):
        MODELS.build(dict(type='MultiViewDataPreprocessor',
                          view_groups=[('a', 'b'), ('b', )]))


def test_preprocessor_stacks_views_whose_groups_differ_in_size():
    """P padded to a larger shape than the T / S / C group (DARTH's
    1920 x 1080 P beside 1088-px views) still stacks into (N, V, C, H, W);
    each view keeps its own batch_input_shape."""
    import os.path as osp

    import torch
    from mmengine.config import Config

    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample, TrackDataSample
    from ..conftest import REPO
    cfg = Config.fromfile(osp.join(
        REPO, 'configs', 'darth',
        'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py'))
    pre = MODELS.build(cfg.model.data_preprocessor)
    sizes = dict(pseudo=(108, 192), teacher=(60, 100), student=(60, 100),
                 contrastive=(50, 90))
    inputs = {name: [torch.randint(0, 255, (3, h, w), dtype=torch.uint8)]
              for name, (h, w) in sizes.items()}
    sample = TrackDataSample()
    sample.video_data_samples = [
        DetDataSample(metainfo=dict(view=name, img_shape=shape))
        for name, shape in sizes.items()]
    data = pre(dict(inputs=inputs, data_samples=[sample]), True)
    assert data['inputs'].shape == (1, 4, 3, 128, 192)
    assert [s.metainfo['batch_input_shape'] for s in
            data['data_samples'][0].video_data_samples] == [(128, 192)] + [
                (64, 128)] * 3
