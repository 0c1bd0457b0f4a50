"""DARTH adapts in its own regime: frozen BN, frozen stem + layer1.

Right after a source checkpoint (trained with ordinary BatchNorm) is loaded,
the train-mode student and the eval-mode teacher are the same function: the
distillation losses start from exactly zero on identical views.
"""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint
from torch.nn.modules.batchnorm import _BatchNorm

from mmplug.models.layers import FrozenBatchNorm2d
from mmplug.utils.config import iter_config_files

from ...conftest import REPO, SYNTH_CONFIG, build_model, retarget
from .test_darth import DARTH_CONFIG, _batch

DARTH_CONFIGS = list(iter_config_files(osp.join(REPO, 'configs', 'darth')))


def source_checkpoint(path, seed=0):
    """A source QDTrack with BatchNorm whose statistics are far from the
    identity (as after training), saved like mmengine does."""
    torch.manual_seed(seed)
    source = build_model(Config.fromfile(SYNTH_CONFIG).model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in source.modules():
            if isinstance(m, _BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen))
                m.running_var.copy_(torch.rand(c, generator=gen) * 3 + 0.2)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
    torch.save(dict(state_dict=source.state_dict()), path)
    return source


@pytest.mark.parametrize('path', DARTH_CONFIGS,
                         ids=[osp.basename(p) for p in DARTH_CONFIGS])
def test_every_darth_config_has_darths_regime(path):
    backbone = Config.fromfile(path).model.detector.backbone
    assert backbone.norm_cfg.type == 'FrozenBN'
    assert backbone.frozen_stages == 1 and backbone.norm_eval


@pytest.fixture
def loaded(synth_root, tmp_path):
    cfg = retarget(Config.fromfile(DARTH_CONFIG), synth_root)
    path = str(tmp_path / 'source.pth')
    source = source_checkpoint(path)
    model = build_model(cfg.model)
    load_checkpoint(model, path, map_location='cpu', strict=True,
                    logger='silent')
    model.train()
    return cfg, model, source


def test_source_bn_checkpoint_loads_into_frozen_bn(loaded):
    _, model, source = loaded
    backbone = model.detector.backbone
    assert not any(isinstance(m, _BatchNorm) for m in backbone.modules())
    ref = source.detector.backbone.bn1
    assert isinstance(backbone.bn1, FrozenBatchNorm2d)
    assert torch.equal(backbone.bn1.running_var, ref.running_var)
    assert torch.equal(backbone.bn1.weight, ref.weight)
    trainable = {n.split('.')[0] for n, p in backbone.named_parameters()
                 if p.requires_grad}
    assert trainable == {'layer2', 'layer3', 'layer4'}  # frozen_stages=1


def test_student_and_teacher_agree_right_after_loading(loaded):
    cfg, model, _ = loaded
    assert model.detector.training and not model.teacher_detector.training
    batch = _batch(cfg, model)
    views = model.split_views(**batch)
    imgs, samples = views['teacher']
    with torch.no_grad():
        s_feats = model.detector.extract_feat(imgs)
        t_feats = model.teacher_detector.extract_feat(imgs)
        s_rpn = model.rpn_outputs(s_feats, teacher=False)
        t_rpn = model.rpn_outputs(t_feats, teacher=True)
        proposals = model.teacher_proposals(t_rpn,
                                            [s.metainfo for s in samples])
        from mmdet.structures.bbox import bbox2roi
        rois = bbox2roi([p.bboxes for p in proposals])
        s_roi = model.detector.roi_head._bbox_forward(s_feats, rois)
        t_roi = model.teacher_detector.roi_head._bbox_forward(t_feats, rois)
    for key in ('cls_scores', 'bbox_preds'):
        for s, t in zip(s_rpn[key], t_rpn[key]):
            torch.testing.assert_close(s, t, rtol=0, atol=1e-5)
    assert len(rois) > 0
    for key in ('cls_score', 'bbox_pred'):
        torch.testing.assert_close(s_roi[key], t_roi[key], rtol=0, atol=1e-5)
    # and so the distillation losses of identical views are zero
    losses = model.distillation_losses(s_feats, t_feats,
                                       [s.metainfo for s in samples])
    for value in losses.values():
        assert value.item() < 1e-9


def test_trainable_bn_would_disagree(synth_root, tmp_path):
    """The control: the old regime (train-mode BN) makes the student and
    the teacher differ on the same images, so the test above can fail."""
    cfg = retarget(Config.fromfile(DARTH_CONFIG), synth_root)
    cfg.model.detector.backbone.update(
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
        frozen_stages=-1)
    path = str(tmp_path / 'source.pth')
    source_checkpoint(path)
    model = build_model(cfg.model)
    load_checkpoint(model, path, map_location='cpu', logger='silent')
    model.train()
    imgs = model.split_views(**_batch(cfg, model))['teacher'][0]
    with torch.no_grad():
        s = model.rpn_outputs(model.detector.extract_feat(imgs), False)
        t = model.rpn_outputs(model.teacher_detector.extract_feat(imgs), True)
    assert (s['cls_scores'][0] - t['cls_scores'][0]).abs().max() > 1e-3


def test_target_bn_stats_start(loaded):
    """bn_stats='target': the statistics are re-estimated on target frames
    (batch statistics of the pseudo view) and the teacher gets them too."""
    from mmplug.engine.runner.adabn_loop import reestimate_bn_stats
    cfg, model, source = loaded
    before = copy.deepcopy(model.detector.backbone.bn1.running_mean)
    batch = _batch(cfg, model, n=2)
    from mmengine.dataset import pseudo_collate  # noqa: F401
    frames = reestimate_bn_stats(model, [_raw_batch(cfg)], ['detector'])
    assert frames == 2
    after = model.detector.backbone.bn1.running_mean
    assert not torch.equal(before, after)
    # the first BN's mean is the mean of conv1's output on the P images
    imgs = model.data_preprocessor(_raw_batch(cfg), False)['inputs'][:, 0]
    with torch.no_grad():
        conv = model.detector.backbone.conv1(imgs)
    torch.testing.assert_close(after, conv.mean(dim=(0, 2, 3)), rtol=1e-4,
                               atol=1e-4)
    assert isinstance(model.detector.backbone.bn1, FrozenBatchNorm2d)
    assert batch  # the model still trains afterwards
    model.train()
    assert torch.isfinite(sum(v.sum() for k, v in model.loss(**batch).items()
                              if 'loss' in k))


def _raw_batch(cfg, n=2):
    from mmengine.dataset import pseudo_collate

    from mmdet.registry import DATASETS
    torch.manual_seed(0)
    np.random.seed(0)  # the same random views (P is flipped at random)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return pseudo_collate([dataset[(0, i)] for i in range(n)])
