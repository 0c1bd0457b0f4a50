import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner.checkpoint import load_checkpoint
from mmengine.structures import InstanceData

from mmdet.registry import DATASETS, MODELS
from mmplug.models.mot import DARTHQDTrack

from ...conftest import REPO, SYNTH_CONFIG, build_model, eval_batches, \
    retarget, total_loss

DARTH_CONFIG = osp.join(REPO, 'configs', 'darth',
                        'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')


@pytest.fixture
def darth_cfg(synth_root):
    return retarget(Config.fromfile(DARTH_CONFIG), synth_root)


def _batch(cfg, model, n=2, seed=0):
    torch.manual_seed(seed)
    import numpy as np
    np.random.seed(seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    items = [dataset[(0, i)] for i in range(n)]
    return model.data_preprocessor(pseudo_collate(items), training=True)


@pytest.fixture
def darth(darth_cfg):
    torch.manual_seed(0)
    model = build_model(darth_cfg.model)
    model.conf_thr = 0.0  # an untrained teacher has low scores
    model.train()
    return model


def test_builds_with_frozen_eval_teacher(darth):
    assert isinstance(darth, DARTHQDTrack)
    assert all(not p.requires_grad
               for n, p in darth.named_parameters()
               if n.startswith('teacher_'))
    assert not darth.teacher_detector.training
    assert darth.detector.training
    for (_, t), (_, s) in zip(darth.teacher_detector.state_dict().items(),
                              darth.detector.state_dict().items()):
        assert torch.equal(t, s)  # init_weights copies student -> teacher


def test_loss_trains_student_only(darth, darth_cfg):
    losses = darth.loss(**_batch(darth_cfg, darth))
    for key in ('loss_rpn_distillation', 'loss_roi_distillation',
                'loss_track', 'loss_track_aux'):
        assert torch.isfinite(losses[key]), key
    assert losses['num_pseudo'] > 0
    total_loss(losses).backward()
    teacher = [p for n, p in darth.named_parameters()
               if n.startswith('teacher_')]
    assert teacher and all(p.grad is None for p in teacher)
    # DARTH's regime: stem + layer1 frozen, layer2.. trained
    assert darth.detector.backbone.conv1.weight.grad is None
    assert darth.detector.backbone.layer2[0].conv1.weight.grad is not None
    assert darth.track_head.embed_head.fc_embed.weight.grad is not None


def test_target_ground_truth_is_never_read(darth, darth_cfg):
    dataset = DATASETS.build(darth_cfg.train_dataloader.dataset)
    assert all(not img['instances'] for video in dataset.data_list
               for img in video['images'])  # the JSON has annotations

    batch = _batch(darth_cfg, darth)
    torch.manual_seed(1)
    clean = darth.loss(**batch)
    poisoned = copy.deepcopy(batch)
    for sample in poisoned['data_samples']:
        for view in sample.video_data_samples:
            view.gt_instances = InstanceData(
                bboxes=torch.full((3, 4), float('nan')),
                labels=torch.zeros(3, dtype=torch.long),
                instances_ids=torch.arange(1, 4))
    torch.manual_seed(1)
    dirty = darth.loss(**poisoned)
    for key, value in clean.items():
        assert torch.equal(value, dirty[key]), key


def test_batch_without_pseudo_boxes_trains(darth, darth_cfg):
    darth.conf_thr = 1.0
    losses = darth.loss(**_batch(darth_cfg, darth))
    assert losses['num_pseudo'].item() == 0
    assert losses['loss_track'].item() == 0
    total_loss(losses).backward()
    # the track head is still in the graph (no unused parameters in DDP)
    grads = [p.grad for p in darth.track_head.parameters()]
    assert all(g is not None and not g.any() for g in grads)


@pytest.mark.parametrize('switch, missing', [
    ('loss_rpn_distillation', 'loss_rpn_distillation'),
    ('loss_roi_distillation', 'loss_roi_distillation'),
    ('with_pcl', 'loss_track'),
])
def test_ablation_switches(darth_cfg, switch, missing):
    cfg = copy.deepcopy(darth_cfg)
    cfg.model[switch] = False if switch == 'with_pcl' else None
    torch.manual_seed(0)
    model = build_model(cfg.model)
    model.conf_thr = 0.0
    losses = model.loss(**_batch(cfg, model))
    assert missing not in losses
    assert torch.isfinite(total_loss(losses))


def test_source_checkpoint_initialises_student_and_teacher(
        darth_cfg, tmp_path):
    source_cfg = Config.fromfile(SYNTH_CONFIG)
    torch.manual_seed(3)
    source = build_model(source_cfg.model)
    path = str(tmp_path / 'source.pth')
    torch.save(dict(state_dict=source.state_dict()), path)
    torch.manual_seed(4)
    model = build_model(darth_cfg.model)
    load_checkpoint(model, path, map_location='cpu', strict=True)
    ref = source.state_dict()
    for name, value in model.state_dict().items():
        src = name.replace('teacher_', '', 1)
        assert torch.equal(value, ref[src]), name

    # a checkpoint with teacher_* weights loads as is
    with torch.no_grad():
        model.teacher_detector.backbone.conv1.weight.add_(1.0)
    path2 = str(tmp_path / 'darth.pth')
    torch.save(dict(state_dict=model.state_dict()), path2)
    other = build_model(darth_cfg.model)
    load_checkpoint(other, path2, map_location='cpu', strict=True)
    assert torch.equal(other.teacher_detector.backbone.conv1.weight,
                       model.teacher_detector.backbone.conv1.weight)
    assert not torch.equal(other.teacher_detector.backbone.conv1.weight,
                           other.detector.backbone.conv1.weight)


def test_eval_teacher_preds_tracks_with_the_teacher(darth_cfg):
    cfg = copy.deepcopy(darth_cfg)
    torch.manual_seed(0)
    model = build_model(cfg.model).eval()
    with torch.no_grad():
        for p in model.teacher_detector.roi_head.parameters():
            p.mul_(0.5)
    frame = eval_batches(cfg, model)[0]
    calls = []
    orig = model.teacher_detector.extract_feat
    model.teacher_detector.extract_feat = \
        lambda x: calls.append(1) or orig(x)
    with torch.no_grad():
        model.predict(**copy.deepcopy(frame))
        assert not calls
        model.teacher_cfg['eval_teacher_preds'] = True
        model.predict(**copy.deepcopy(frame))
    assert calls
    assert model._modules['detector'] is not model._modules[
        'teacher_detector']
    assert model.detector.extract_feat is not model.teacher_detector \
        .extract_feat


def test_bad_arguments(darth_cfg):
    cfg = copy.deepcopy(darth_cfg.model)
    cfg.conf_thr = 1.5
    with pytest.raises(ValueError, match=r'conf_thr must be in \[0, 1\]'):
        MODELS.build(cfg)
    cfg = copy.deepcopy(darth_cfg.model)
    cfg.teacher = dict(eval_teacher_pred=True)
    with pytest.raises(ValueError, match='unknown teacher keys'):
        MODELS.build(cfg)


def test_pcl_proposals_use_the_test_rpn_config(darth, darth_cfg,
                                               monkeypatch):
    """DARTH's PCL key and reference proposals come from simple_test_rpn,
    i.e. the test-time RPN config, as KDQDTrack's (not rpn_proposal)."""
    test_rpn = darth.detector.test_cfg.rpn
    assert test_rpn != darth.detector.train_cfg.rpn_proposal
    seen = []
    head = darth.detector.rpn_head
    orig = head.predict_by_feat

    def spy(*args, cfg=None, **kwargs):
        seen.append(cfg)
        return orig(*args, cfg=cfg, **kwargs)

    monkeypatch.setattr(head, 'predict_by_feat', spy)
    monkeypatch.setattr(darth, 'distillation_losses', lambda *a, **k: {})
    losses = darth.loss(**_batch(darth_cfg, darth))
    assert torch.isfinite(losses['loss_track'])
    assert len(seen) >= 2 and all(c == test_rpn for c in seen)


def test_views_are_cropped_to_their_own_batch_shape(darth, darth_cfg):
    """The preprocessor pads P apart from T / S / C; the model runs each
    view at its own padded shape (no padding from the other views)."""
    data = _batch(darth_cfg, darth)
    views = darth.split_views(data['inputs'], data['data_samples'])
    for name, (imgs, samples) in views.items():
        assert tuple(imgs.shape[-2:]) == samples[0].metainfo[
            'batch_input_shape'], name
    assert views['teacher'][0].shape == views['student'][0].shape == \
        views['contrastive'][0].shape
