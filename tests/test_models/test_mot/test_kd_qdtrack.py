"""KDQDTrack does what DARTH's class of the same name does: on labelled
(key, reference) pairs, the supervised QDTrack track loss plus RPN / RoI
distillation from the frozen teacher on the same key frame (and, as in
DARTH, no supervised detection loss)."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint

from mmplug.models.mot import KDQDTrack

from ...conftest import REPO, build_model, retarget, train_batch
from .test_darth_regime import source_checkpoint

KD_CONFIG = osp.join(REPO, 'configs', 'darth',
                     'kdqdtrack_faster-rcnn_r18_fpn_cpu_synth.py')
KEYS = {'loss_rpn_distillation', 'loss_roi_distillation', 'loss_track',
        'loss_track_aux'}


@pytest.fixture
def kd(synth_root, tmp_path):
    cfg = retarget(Config.fromfile(KD_CONFIG), synth_root)
    path = str(tmp_path / 'source.pth')
    source_checkpoint(path)
    model = build_model(cfg.model)
    load_checkpoint(model, path, map_location='cpu', strict=True,
                    logger='silent')
    model.train()
    return cfg, model


def _loss(model, batch, seed=0):
    torch.manual_seed(seed)
    return model.loss(**copy.deepcopy(batch))


def test_losses_are_distillation_plus_supervised_tracking(kd):
    cfg, model = kd
    assert isinstance(model, KDQDTrack)
    losses = _loss(model, train_batch(cfg, model))
    assert set(losses) == KEYS
    # teacher and student see the same key frame with the same weights:
    # the distillation starts at zero, the supervised track loss does not
    assert losses['loss_rpn_distillation'].item() < 1e-9
    assert losses['loss_roi_distillation'].item() < 1e-9
    assert losses['loss_track'].item() > 0


def test_distillation_trains_the_student_detector_only(kd):
    cfg, model = kd
    with torch.no_grad():
        model.detector.rpn_head.rpn_conv.weight.mul_(1.1)
        model.detector.roi_head.bbox_head.fc_cls.weight.mul_(1.1)
    losses = _loss(model, train_batch(cfg, model))
    assert losses['loss_rpn_distillation'] > 0
    assert losses['loss_roi_distillation'] > 0
    (losses['loss_rpn_distillation'] + losses['loss_roi_distillation']
     ).backward()
    assert model.detector.rpn_head.rpn_conv.weight.grad.abs().sum() > 0
    assert model.detector.roi_head.bbox_head.fc_cls.weight.grad.abs().sum(
    ) > 0
    assert all(p.grad is None for n, p in model.named_parameters()
               if n.startswith('teacher_'))


def test_track_loss_is_supervised_by_the_labels(kd):
    cfg, model = kd
    batch = train_batch(cfg, model)
    clean = _loss(model, batch)
    relabelled = copy.deepcopy(batch)
    for sample in relabelled['data_samples']:  # no key / ref match left
        ref = sample.get_ref_frames()[0]
        ref.gt_instances.instances_ids = ref.gt_instances.instances_ids + 1000
    dirty = _loss(model, relabelled)
    assert not torch.equal(clean['loss_track'], dirty['loss_track'])
    for key in ('loss_rpn_distillation', 'loss_roi_distillation'):
        assert torch.equal(clean[key], dirty[key])  # labels unused there
