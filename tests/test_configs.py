"""Every non-_base_ config loads, builds, and runs one loss and one predict.

Data comes from a tiny synthetic set through the synthetic config's
pipelines (96 px), so the real-data configs run without their data sets or
checkpoints (building does not load weights).
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmdet.registry import MODELS
from mmplug.models.backbones import TorchvisionResNet
from mmplug.utils.config import iter_config_files, merge_cfg_options

from .conftest import (REPO, SYNTH_CONFIG, eval_batches, retarget,
                       total_loss, train_batch)

CONFIGS = sorted(iter_config_files(osp.join(REPO, 'configs')))


def _ids(paths):
    return [osp.relpath(p, osp.join(REPO, 'configs')) for p in paths]


DARTH_DATA_CONFIG = osp.join(
    REPO, 'configs', 'darth',
    'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')


def _data_cfg(root, model_type):
    """Synthetic data in the views the model trains on (96 px frames)."""
    darth = model_type == 'DARTHQDTrack'
    return retarget(Config.fromfile(DARTH_DATA_CONFIG if darth else
                                    SYNTH_CONFIG), root)


@pytest.mark.parametrize('path', CONFIGS, ids=_ids(CONFIGS))
def test_config_conventions(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet'
    assert cfg.custom_imports == dict(
        imports=['mmplug'], allow_failed_imports=False)
    for split in ('train', 'val', 'test'):
        ds = cfg[f'{split}_dataloader'].dataset
        assert {'data_root', 'ann_file', 'data_prefix'} <= set(ds)
        assert 'img_path' in ds.data_prefix


def _fewer_proposals(node, cap=64):
    """Cap every ``max_per_img`` / ``nms_pre`` of the model's RPN / RoI
    settings: an untrained R50 RPN keeps its 1000 proposals per image, and
    mmcv's CPU RoIAlign over them is most of this test's time."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('max_per_img', 'nms_pre') and isinstance(value, int):
                node[key] = min(value, cap)
            else:
                _fewer_proposals(value, cap)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _fewer_proposals(value, cap)


@pytest.mark.parametrize('path', CONFIGS, ids=_ids(CONFIGS))
def test_config_builds_and_runs_loss_and_predict(path, synth_root):
    cfg = Config.fromfile(path)
    _fewer_proposals(cfg.model)
    data_cfg = _data_cfg(synth_root, cfg.model.type)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    if hasattr(model, 'conf_thr'):
        model.conf_thr = 0.0  # untrained teacher: keep its boxes
    model.train()
    batch = train_batch(data_cfg, model, n=2)
    losses = model.loss(**batch)
    total = total_loss(losses)
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad():
        for frame in eval_batches(data_cfg, model):
            out = model.predict(**frame)
            track = out[0][0].pred_track_instances
            assert {'bboxes', 'scores', 'labels', 'instances_id'} <= set(
                track.keys())


@pytest.mark.parametrize('path', CONFIGS, ids=_ids(CONFIGS))
def test_backbone_switch_is_one_override(path, synth_root):
    cfg = Config.fromfile(path)
    merge_cfg_options(cfg,
                      {'model.detector.backbone.type': 'TorchvisionResNet'})
    model = MODELS.build(cfg.model)
    assert isinstance(model.detector.backbone, TorchvisionResNet)
    model.eval()
    with torch.no_grad():
        feats = model.detector.extract_feat(torch.randn(1, 3, 64, 64))
    assert len(feats) == len(cfg.model.detector.rpn_head.anchor_generator
                             .strides)


def test_unformatted_config_text_loads_to_the_same_config():
    """Runners print configs without yapf (mmplug.apis.runner.unformatted):
    the text they dump into the work dir still loads to the same config,
    for DARTH's most nested one."""
    from mmplug.apis.runner import unformatted
    cfg = Config.fromfile(osp.join(
        REPO, 'configs', 'darth',
        'darth-online_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py'))
    text = unformatted(cfg).pretty_text
    assert Config.fromstring(text, '.py').to_dict() == cfg.to_dict()
