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
