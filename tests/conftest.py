"""Shared fixtures: a tiny synthetic MOT set and model/batch builders."""
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import mmplug  # noqa: F401  (registers modules)
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmplug.datasets.converters import convert_mot_root
from mmplug.datasets.synthetic import make_synthetic_mot

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SYNTH_CONFIG = osp.join(REPO, 'configs', 'qdtrack',
                        'qdtrack_faster-rcnn_r18_fpn_2xb2-cpu_synth.py')

register_all_modules(init_default_scope=True)
# MMPLUG_TEST_THREADS torch threads (default 2, the CI machine's cores);
# `make test` runs 2 pytest workers of 1 thread each (two 2-thread jobs on
# 2 cores run several times slower)
torch.set_num_threads(int(os.environ.get('MMPLUG_TEST_THREADS', '2')))


def make_synth_root(root, num_classes=1, frames=8, size=96, videos=2):
    """A converted synthetic MOTChallenge root with train/ and val/."""
    make_synthetic_mot(osp.join(root, 'train'), videos, frames, size, seed=0,
                       num_classes=num_classes)
    make_synthetic_mot(osp.join(root, 'val'), 1, frames, size, seed=1,
                       num_classes=num_classes)
    classes = ['pedestrian', 'car'][:num_classes]
    convert_mot_root(root, osp.join(root, 'annotations'), classes=classes)
    return root


@pytest.fixture(scope='session')
def synth_root(tmp_path_factory):
    return make_synth_root(str(tmp_path_factory.mktemp('synth')))


@pytest.fixture(scope='session')
def synth2_root(tmp_path_factory):
    return make_synth_root(str(tmp_path_factory.mktemp('synth2')),
                           num_classes=2, frames=20, videos=2)


def retarget(cfg, root, size=96):
    """Point every dataloader of ``cfg`` at a synthetic root."""
    for split, ann in (('train', 'train'), ('val', 'val'), ('test', 'val')):
        ds = cfg[f'{split}_dataloader'].dataset
        ds.data_root = root + '/'
        ds.ann_file = f'annotations/{ann}_cocoformat.json'
        ds.data_prefix = dict(img_path=f'{ann}/')
    return cfg


def retarget_options(root):
    """The same as :func:`retarget`, as --cfg-options strings."""
    opts = []
    for split, ann in (('train', 'train'), ('val', 'val'), ('test', 'val')):
        key = f'{split}_dataloader.dataset'
        opts += [f'{key}.data_root={root}/',
                 f'{key}.ann_file=annotations/{ann}_cocoformat.json',
                 f'{key}.data_prefix.img_path={ann}/']
    return opts


def train_batch(cfg, model, n=2, seed=0):
    """A preprocessed training batch from cfg.train_dataloader's dataset."""
    torch.manual_seed(seed)
    import random

    import numpy as np
    random.seed(seed)
    np.random.seed(seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    items = [dataset[(0, i)] for i in range(n)]
    return model.data_preprocessor(pseudo_collate(items), training=True)


def eval_batches(cfg, model):
    """One preprocessed video clip (all frames) from the test dataset."""
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    video = dataset.get_data_info(0)
    items = [dataset[(0, i)] for i in range(min(video['video_length'], 3))]
    return [model.data_preprocessor(pseudo_collate([it]), training=False)
            for it in items]


def build_model(model_cfg):
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model


@pytest.fixture
def synth_cfg(synth_root):
    cfg = Config.fromfile(SYNTH_CONFIG)
    return retarget(cfg, synth_root)


@pytest.fixture(autouse=True)
def _cwd_is_repo(monkeypatch):
    monkeypatch.chdir(REPO)
    yield


def total_loss(losses):
    """Sum of every ``loss*`` entry (tensors or per-level lists)."""
    total = 0
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        total = total + sum(v.sum() for v in values)
    return total
