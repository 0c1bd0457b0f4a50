import os.path as osp

import pytest
from mmengine.config import Config

from mmplug.utils.config import (ConfigKeyError, check_cfg_options,
                                 flatten_metrics, iter_config_files,
                                 merge_cfg_options, runtime_keys)

from ..conftest import REPO, SYNTH_CONFIG

DARTH_CPU = osp.join(REPO, 'configs', 'darth',
                     'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')


@pytest.fixture
def cfg():
    return Config(dict(
        model=dict(backbone=dict(depth=50, type='ResNet')),
        test_pipeline=[dict(type='Load'), dict(type='Resize', scale=(1, 1))],
        test_dataloader=dict(dataset=dict(pipeline=[
            dict(type='Load'), dict(type='Resize', scale=(1, 1))])),
        optim_wrapper=dict(optimizer=dict(lr=0.1)),
        load_from=None))


def test_existing_keys_merge(cfg):
    merge_cfg_options(cfg, {'model.backbone.depth': 18,
                            'test_dataloader.dataset.pipeline.1.scale': (2, 2),
                            'optim_wrapper.optimizer.lr': 0.5,
                            'load_from': 'a.pth'})
    assert cfg.model.backbone.depth == 18
    assert cfg.test_dataloader.dataset.pipeline[1].scale == (2, 2)
    assert cfg.optim_wrapper.optimizer.lr == 0.5 and cfg.load_from == 'a.pth'


def test_load_time_variable_is_refused_naming_its_holders(cfg):
    # test_pipeline was copied into test_dataloader when the file was read
    with pytest.raises(ConfigKeyError,
                       match=r'"test_pipeline.1.scale".*top-level '
                       r'"test_pipeline" is a variable.*changes nothing; '
                       r'set the keys that hold its value instead: '
                       r'test_dataloader.dataset.pipeline \('):
        check_cfg_options(cfg, {'test_pipeline.1.scale': (2, 2)})


@pytest.mark.parametrize('config, key, holders', [
    # top-level variables of real configs: `max_epochs = 4` (read by
    # train_cfg = dict(max_epochs=max_epochs)), `target_root` (a base's
    # variable, read into each dataloader), `data_root`
    (DARTH_CPU, 'max_epochs', ['train_cfg.max_epochs']),
    (DARTH_CPU, 'target_root', [
        'test_dataloader.dataset.data_root',
        'train_dataloader.dataset.data_root',
        'val_dataloader.dataset.data_root']),
    (SYNTH_CONFIG, 'data_root', ['test_dataloader.dataset.data_root',
                                 'train_dataloader.dataset.data_root',
                                 'val_dataloader.dataset.data_root']),
    # `model = {{_base_.darth_model}}`
    (DARTH_CPU, 'darth_model.loss_rpn_distillation', ['model']),
])
def test_real_config_variables_are_refused(config, key, holders):
    cfg = Config.fromfile(config)
    with pytest.raises(ConfigKeyError) as err:
        merge_cfg_options(cfg, {key: 1})
    msg = str(err.value)
    assert 'changes nothing' in msg
    for holder in holders:
        assert holder in msg
    # the key the message names is accepted and takes effect
    first = holders[0]
    merge_cfg_options(cfg, {first: 1})
    node = cfg
    for part in first.split('.'):
        node = node[part]
    assert node == 1


def test_runtime_keys_cover_what_the_runner_reads():
    """Every top-level key that mmengine's Runner reads from a config
    (``Runner.from_cfg`` and ``self.cfg.get`` in its methods) is one that
    ``--cfg-options`` may set."""
    import inspect
    import re

    from mmengine.runner import Runner
    source = inspect.getsource(Runner)
    read = set(re.findall(r"\bcfg(?:\.get\(|\[)'(\w+)'", source))
    assert {'model', 'train_cfg', 'load_from', 'randomness'} <= read
    assert read <= runtime_keys(), sorted(read - runtime_keys())


def test_typo_is_reported_with_suggestion(cfg):
    with pytest.raises(ConfigKeyError,
                       match=r'"model.backbone.dept".*"dept" does not exist '
                       r'at "model.backbone".*did you mean depth'):
        check_cfg_options(cfg, {'model.backbone.dept': 18})
    with pytest.raises(ConfigKeyError, match='at the top level'):
        check_cfg_options(cfg, {'modle.backbone.depth': 18})
    with pytest.raises(ConfigKeyError,
                       match=r'"5" does not exist at '
                       r'"test_dataloader.dataset.pipeline"'):
        check_cfg_options(cfg, {'test_dataloader.dataset.pipeline.5.type':
                                'X'})
    assert 'dept' not in cfg.model.backbone


def test_new_keys_need_opt_in(cfg):
    with pytest.raises(ConfigKeyError, match='--allow-new-keys'):
        merge_cfg_options(cfg, {'model.neck': dict(type='FPN')})
    merge_cfg_options(cfg, {'model.neck': dict(type='FPN')},
                      allow_new_keys=True)
    assert cfg.model.neck.type == 'FPN'


def test_flatten_metrics():
    import numpy as np
    flat = flatten_metrics({'motchallenge-metric/HOTA': np.float64(0.5),
                            'coco/bbox_mAP': 0.25, 'a/x': 1, 'b/x': 2})
    assert flat == {'HOTA': 0.5, 'bbox_mAP': 0.25, 'a/x': 1, 'b/x': 2}
    assert type(flat['HOTA']) is float
