import pytest
from mmengine.config import Config

from mmplug.utils.config import (ConfigKeyError, check_cfg_options,
                                 flatten_metrics, merge_cfg_options)


@pytest.fixture
def cfg():
    return Config(dict(
        model=dict(backbone=dict(depth=50, type='ResNet')),
        pipeline=[dict(type='Load'), dict(type='Resize', scale=(1, 1))],
        lr=0.1))


def test_existing_keys_merge(cfg):
    merge_cfg_options(cfg, {'model.backbone.depth': 18,
                            'pipeline.1.scale': (2, 2), 'lr': 0.5})
    assert cfg.model.backbone.depth == 18
    assert cfg.pipeline[1].scale == (2, 2) and cfg.lr == 0.5


def test_typo_is_reported_with_suggestion(cfg):
    with pytest.raises(ConfigKeyError,
                       match=r'"model.backbone.dept".*"dept" does not exist '
                       r'at "model.backbone".*did you mean depth'):
        check_cfg_options(cfg, {'model.backbone.dept': 18})
    with pytest.raises(ConfigKeyError, match='at the top level'):
        check_cfg_options(cfg, {'modle.backbone.depth': 18})
    with pytest.raises(ConfigKeyError,
                       match=r'"5" does not exist at "pipeline"'):
        check_cfg_options(cfg, {'pipeline.5.type': 'X'})
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
