import pytest
import torch
from mmcv.cnn import ConvModule, build_norm_layer
from torch import nn

from mmdet.registry import MODELS
from mmplug.models.layers import FrozenBatchNorm2d, convert_frozen_batchnorm


def _random_bn(c, seed=0):
    torch.manual_seed(seed)
    bn = nn.BatchNorm2d(c)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.normal_()
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2.0)
    return bn.eval()


def test_registered_as_frozen_bn_for_mmcv_and_mmdet():
    name, layer = build_norm_layer(dict(type='FrozenBN'), 8)
    assert isinstance(layer, FrozenBatchNorm2d)
    assert name == 'bn'  # same state-dict names as BatchNorm layers
    assert MODELS.get('FrozenBN') is FrozenBatchNorm2d
    conv = ConvModule(3, 8, 3, norm_cfg=dict(type='FrozenBN'))
    assert isinstance(conv.bn, FrozenBatchNorm2d)


def test_no_parameters_and_train_changes_nothing():
    layer = FrozenBatchNorm2d(4)
    assert list(layer.parameters()) == []
    assert {n for n, _ in layer.named_buffers()} == {
        'weight', 'bias', 'running_mean', 'running_var'
    }
    torch.manual_seed(0)
    x = torch.randn(2, 4, 5, 5)
    layer.eval()
    out_eval = layer(x)
    layer.train()
    assert torch.equal(layer(x), out_eval)
    assert torch.equal(layer.running_mean, torch.zeros(4))


def test_loads_batchnorm_state_dict_and_matches_eval_bn():
    bn = _random_bn(6)
    frozen = FrozenBatchNorm2d(6)
    state = bn.state_dict()
    assert 'num_batches_tracked' in state
    frozen.load_state_dict(state)  # strict: num_batches_tracked dropped
    x = torch.randn(3, 6, 4, 4)
    torch.testing.assert_close(frozen(x), bn(x), rtol=1e-5, atol=1e-6)


def test_eps_is_an_argument():
    bn = _random_bn(3)
    bn.eps = 0.5
    frozen = FrozenBatchNorm2d(3, eps=0.5)
    frozen.load_state_dict(bn.state_dict())
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(frozen(x), bn(x), rtol=1e-5, atol=1e-6)


def test_convert_keeps_statistics():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), _random_bn(4, seed=2),
                          nn.ReLU(),
                          nn.Sequential(nn.Conv2d(4, 5, 1),
                                        _random_bn(5, seed=3)))
    model.eval()
    x = torch.randn(2, 3, 8, 8)
    ref = model(x)
    converted = convert_frozen_batchnorm(model)
    assert isinstance(converted[1], FrozenBatchNorm2d)
    assert isinstance(converted[3][1], FrozenBatchNorm2d)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in converted.modules())
    converted.train()
    torch.testing.assert_close(converted(x), ref, rtol=1e-5, atol=1e-6)


def test_convert_a_bare_batchnorm():
    bn = _random_bn(2)
    assert isinstance(convert_frozen_batchnorm(bn), FrozenBatchNorm2d)


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_features=0), 'num_features must be a positive int'),
    (dict(num_features=4, eps=0.0), 'eps must be > 0'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FrozenBatchNorm2d(**kwargs)
