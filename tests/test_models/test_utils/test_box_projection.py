import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmplug.models.utils import project_instances


def _results(seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (120, 200, 3), dtype=np.uint8)
    x1 = rng.uniform(0, 170, 12)
    y1 = rng.uniform(0, 100, 12)
    boxes = np.stack([x1, y1, x1 + rng.uniform(5, 40, 12),
                      y1 + rng.uniform(5, 30, 12)], 1).astype(np.float32)
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                img_id=0, img_path='x.jpg',
                gt_bboxes=HorizontalBoxes(boxes),
                gt_bboxes_labels=np.zeros(12, np.int64),
                gt_ignore_flags=np.zeros(12, bool),
                gt_instances_ids=np.arange(1, 13))


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_flip_resize_crop_projection_is_exact(seed):
    """Boxes moved by mmdet's own transforms == our homography projection."""
    np.random.seed(seed)
    pipeline = TRANSFORMS.build(dict(
        type='MultiViewPipeline',
        views=dict(
            pseudo=dict(transforms=[
                dict(type='Resize', scale=(192, 192), keep_ratio=True)]),
            teacher=dict(source='pseudo', transforms=[
                dict(type='RandomResize', scale=(192, 192),
                     ratio_range=(0.7, 1.4), keep_ratio=True),
                dict(type='RandomCrop', crop_size=(150, 130),
                     bbox_clip_border=True),
                dict(type='RandomFlip', prob=1.0)]))))
    out = pipeline(_results(seed))
    p_boxes, t_boxes = out['gt_bboxes']
    p_ids, t_ids = out['gt_instances_ids']
    assert out['view'] == ['pseudo', 'teacher']
    homography = torch.from_numpy(out['view_homography'][1])
    pseudo = InstanceData(bboxes=p_boxes.tensor,
                          instances_ids=torch.from_numpy(p_ids))
    projected = project_instances(pseudo, homography,
                                  out['img_shape'][1], min_visible=0.0,
                                  min_size=0.0)
    by_id = dict(zip(projected.instances_ids.tolist(), projected.bboxes))
    assert len(t_ids) > 0
    for i, box in zip(t_ids.tolist(), t_boxes.tensor):
        torch.testing.assert_close(by_id[i], box, rtol=0, atol=1e-4)
    torch.testing.assert_close(
        torch.from_numpy(out['view_homography'][0]), torch.eye(3))


def test_rule_for_cut_boxes():
    boxes = torch.tensor([[10., 10., 30., 30.],    # inside
                          [90., 10., 130., 30.],   # 1/4 inside -> dropped
                          [70., 10., 110., 30.],   # 3/4 inside -> clipped
                          [200., 5., 220., 20.]])  # outside -> dropped
    inst = InstanceData(bboxes=boxes, labels=torch.zeros(4, dtype=torch.long),
                        instances_ids=torch.arange(1, 5))
    out = project_instances(inst, torch.eye(3), (100, 100), min_visible=0.3)
    assert out.instances_ids.tolist() == [1, 3]
    assert out.bboxes[1].tolist() == [70., 10., 100., 30.]


def test_empty_and_bad_args():
    empty = InstanceData(bboxes=torch.zeros(0, 4))
    assert len(project_instances(empty, torch.eye(3), (10, 10))) == 0
    with pytest.raises(ValueError, match=r'min_visible must be in \[0, 1\]'):
        project_instances(empty, torch.eye(3), (10, 10), min_visible=2)
