import copy

import pytest
import torch
from mmengine.config import Config

from mmdet.models.mot import QDTrack
from mmplug.models.mot import MultiClassQDTrack, class_agnostic_sample

from ...conftest import (SYNTH_CONFIG, build_model, retarget, total_loss,
                         train_batch)


@pytest.fixture
def cfg2(synth2_root):
    cfg = retarget(Config.fromfile(SYNTH_CONFIG), synth2_root)
    cfg.model.detector.roi_head.bbox_head.num_classes = 2
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.metainfo = dict(
            classes=('pedestrian', 'car'))
    return cfg


def _roi_labels_seen(model, batch):
    seen = []
    orig = model.detector.roi_head.loss

    def spy(x, rpn_results, samples, **kwargs):
        seen.extend(s.gt_instances.labels.clone() for s in samples)
        return orig(x, rpn_results, samples, **kwargs)

    model.detector.roi_head.loss = spy
    losses = model.loss(**batch)
    return torch.cat(seen), losses


def _true_key_labels(batch):
    return torch.cat([s.get_key_frames()[0].gt_instances.labels
                      for s in batch['data_samples']])


def test_roi_head_trains_on_true_labels(cfg2):
    torch.manual_seed(0)
    model = build_model(cfg2.model)
    assert isinstance(model, MultiClassQDTrack)
    batch = train_batch(cfg2, model, n=2, seed=1)
    # find a batch holding both classes
    for seed in range(2, 12):
        if len(set(_true_key_labels(batch).tolist())) == 2:
            break
        batch = train_batch(cfg2, model, n=2, seed=seed)
    true = _true_key_labels(batch).clone()
    assert set(true.tolist()) == {0, 1}
    seen, losses = _roi_labels_seen(model, batch)
    assert torch.equal(seen, true)
    assert torch.equal(_true_key_labels(batch), true)  # inputs not mutated
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox',
                'loss_track', 'loss_track_aux'):
        assert key in losses
    assert torch.isfinite(total_loss(losses))


def test_mmdet_qdtrack_would_zero_the_labels(cfg2):
    """The bug the fix is about (mmdet #11409): documents why we override."""
    cfg = copy.deepcopy(cfg2)
    cfg.model.type = 'QDTrack'
    torch.manual_seed(0)
    model = build_model(cfg.model)
    assert type(model) is QDTrack
    for seed in range(1, 12):
        batch = train_batch(cfg, model, n=2, seed=seed)
        if 1 in _true_key_labels(batch).tolist():
            break
    seen, _ = _roi_labels_seen(model, batch)
    assert seen.max() == 0


def test_class_agnostic_sample_copies():
    from mmengine.structures import InstanceData

    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(img_shape=(8, 8)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[0., 0., 4., 4.], [1., 1., 5., 5.]]),
        labels=torch.tensor([1, 2]))
    rpn = class_agnostic_sample(sample)
    assert rpn.gt_instances.labels.tolist() == [0, 0]
    assert sample.gt_instances.labels.tolist() == [1, 2]
    assert rpn.metainfo['img_shape'] == (8, 8)


def test_bad_input_shape(synth_cfg):
    model = build_model(synth_cfg.model)
    with pytest.raises(ValueError, match=r'\(N, 2, C, H, W\)'):
        model.loss(torch.zeros(1, 3, 3, 32, 32), [])
