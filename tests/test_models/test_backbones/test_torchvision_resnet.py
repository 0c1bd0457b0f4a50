import pytest
import torch
import torchvision
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.ops.misc import FrozenBatchNorm2d as TVFrozenBN

from mmdet.registry import MODELS
from mmplug.models.backbones import TorchvisionResNet

LAYERS = {f'layer{i}': str(i - 1) for i in range(1, 5)}


def _randomise_bn(model, seed):
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data = torch.rand(m.num_features, generator=gen) + 0.5
            m.bias.data = torch.randn(m.num_features, generator=gen) * 0.1
            m.running_mean = torch.randn(m.num_features, generator=gen) * 0.1
            m.running_var = torch.rand(m.num_features, generator=gen) + 0.5


@pytest.fixture(scope='module')
def r50_file(tmp_path_factory):
    """Random torchvision ResNet-50 weights, random BN statistics too."""
    torch.manual_seed(0)
    net = torchvision.models.resnet50(weights=None)
    _randomise_bn(net, 1)
    path = tmp_path_factory.mktemp('w') / 'resnet50.pth'
    torch.save(net.state_dict(), path)
    return str(path)


def _reference(depth, path, dilation=False):
    net = getattr(torchvision.models, f'resnet{depth}')(
        weights=None, norm_layer=TVFrozenBN,
        replace_stride_with_dilation=[False, False, dilation])
    net.load_state_dict(torch.load(path))
    return IntermediateLayerGetter(net, LAYERS).eval()


def _rel_diff(ours, ref):
    return ((ours - ref).abs().max() / ref.abs().max()).item()


def _build_loaded(depth, path, **kwargs):
    model = MODELS.build(
        dict(type='TorchvisionResNet', depth=depth,
             init_cfg=dict(type='Pretrained', checkpoint=path), **kwargs))
    model.init_weights()
    return model.eval()


def _assert_match(model, ref, x):
    with torch.no_grad():
        outs = model(x)
        refs = list(ref(x).values())
    assert len(outs) == 4
    for ours, theirs in zip(outs, refs):
        assert ours.shape == theirs.shape
        assert _rel_diff(ours, theirs) < 1e-5


def test_r50_matches_torchvision_frozen_bn(r50_file):
    torch.manual_seed(2)
    x = torch.randn(2, 3, 224, 320)
    _assert_match(_build_loaded(50, r50_file), _reference(50, r50_file), x)


def test_r50_dilation_matches_torchvision(r50_file):
    torch.manual_seed(3)
    x = torch.randn(2, 3, 224, 320)
    model = _build_loaded(50, r50_file, dilation=True)
    _assert_match(model, _reference(50, r50_file, dilation=True), x)
    assert model.strides == (4, 8, 16, 16)


def test_r18_matches_torchvision(tmp_path):
    torch.manual_seed(4)
    net = torchvision.models.resnet18(weights=None)
    _randomise_bn(net, 5)
    path = str(tmp_path / 'r18.pth')
    torch.save(net.state_dict(), path)
    x = torch.randn(2, 3, 224, 320)
    _assert_match(_build_loaded(18, path), _reference(18, path), x)


def test_mmdet_resnet_frozen_bn_loads_torchvision_file(r50_file):
    model = MODELS.build(
        dict(type='ResNet', depth=50, norm_cfg=dict(type='FrozenBN'),
             init_cfg=dict(type='Pretrained', checkpoint=r50_file)))
    model.init_weights()
    model.eval()
    torch.manual_seed(2)
    x = torch.randn(2, 3, 224, 320)
    _assert_match(model, _reference(50, r50_file), x)


@pytest.mark.parametrize('depth, channels', [
    (18, (64, 128, 256, 512)), (34, (64, 128, 256, 512)),
    (50, (256, 512, 1024, 2048)), (101, (256, 512, 1024, 2048)),
])
def test_channels_and_strides(depth, channels):
    model = TorchvisionResNet(depth=depth, frozen_stages=-1)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        outs = model(x)
    assert model.out_channels == channels
    assert model.strides == (4, 8, 16, 32)
    for out, c, s in zip(outs, channels, model.strides):
        assert out.shape == (1, c, 64 // s, 96 // s)


def test_out_indices_subset():
    model = TorchvisionResNet(depth=18, out_indices=(1, 3))
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [128, 512]
    assert model.out_channels == (128, 512) and model.strides == (8, 32)


@pytest.mark.parametrize('frozen_stages, frozen_prefixes', [
    (-1, ()),
    (0, ('conv1', 'bn1')),
    (1, ('conv1', 'bn1', 'layer1')),
    (3, ('conv1', 'bn1', 'layer1', 'layer2', 'layer3')),
])
def test_frozen_stages(frozen_stages, frozen_prefixes):
    model = TorchvisionResNet(depth=18, frozen_stages=frozen_stages,
                              norm_cfg=dict(type='BN'))
    model.train()
    for name, param in model.named_parameters():
        expect_frozen = name.split('.')[0] in frozen_prefixes
        assert param.requires_grad is not expect_frozen, name
    for name, module in model.named_children():
        if name in frozen_prefixes:
            assert not module.training, name


def test_frozen_bn_backbone_has_no_bn_parameters():
    model = TorchvisionResNet(depth=18, frozen_stages=-1)
    names = [n for n, _ in model.named_parameters()]
    assert names and all('bn' not in n and 'downsample.1' not in n
                         for n in names)


def test_norm_eval_keeps_bn_in_eval():
    model = TorchvisionResNet(depth=18, frozen_stages=-1,
                              norm_cfg=dict(type='BN'), norm_eval=True)
    model.train()
    assert not model.layer2[0].bn1.training


@pytest.mark.parametrize('kwargs, match', [
    (dict(depth=42), r'depth must be one of \[18, 34, 50, 101, 152\]'),
    (dict(out_indices=(0, 4)), r'out_indices must be distinct values'),
    (dict(out_indices=()), r'out_indices must be distinct values'),
    (dict(frozen_stages=5), r'frozen_stages must be in -1..4'),
    (dict(norm_cfg='BN'), r'norm_cfg must be a dict'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TorchvisionResNet(**kwargs)


def test_batchnorm_state_dict_loads_into_frozen_bn_version():
    torch.manual_seed(6)
    bn_model = TorchvisionResNet(depth=18, frozen_stages=-1,
                                 norm_cfg=dict(type='BN'))
    bn_model.train()
    for _ in range(3):  # move the running statistics away from 0 / 1
        bn_model(torch.randn(4, 3, 64, 64) * 2 + 1)
    bn_model.eval()
    frozen = TorchvisionResNet(depth=18, frozen_stages=-1)
    frozen.load_state_dict(bn_model.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for ours, ref in zip(frozen(x), bn_model(x)):
            assert _rel_diff(ours, ref) < 1e-5
