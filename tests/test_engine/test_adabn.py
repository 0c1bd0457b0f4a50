"""AdaBN: norm statistics re-estimated on target data, as a train loop
(the baseline) and as DARTH's start (bn_stats='target')."""
import json
import os.path as osp
from argparse import Namespace

import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmplug.apis.runner import train_cfg_from_args
from mmplug.models.layers import FrozenBatchNorm2d
from mmplug.models.utils import estimate_bn_stats

from ..conftest import REPO, SYNTH_CONFIG, retarget_options
from ..test_tools._run import run_tool
from ..test_tools.test_train_test import TINY

ADABN_CONFIG = osp.join(REPO, 'configs', 'adabn',
                        'adabn_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')
DARTH_CONFIG = osp.join(REPO, 'configs', 'darth',
                        'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 5, 3)
        self.frozen = FrozenBatchNorm2d(5)

    def forward(self, x):
        return self.frozen(self.conv2(torch.relu(self.bn(self.conv1(x)))))


def _stats(x):
    return x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=True)


def test_statistics_of_both_kinds_of_norm_layer():
    torch.manual_seed(0)
    toy = Toy().eval()
    with torch.no_grad():
        toy.frozen.weight.uniform_(0.5, 2)
        toy.frozen.running_mean.fill_(3.0)
    weight = toy.frozen.weight.clone()
    x = torch.randn(8, 3, 10, 10) * 2 + 1
    with torch.no_grad(), estimate_bn_stats(toy, ['']):
        assert not isinstance(toy.frozen, FrozenBatchNorm2d)  # for the pass
        toy(x[:4])
        toy(x[4:])
    # BN: the average of the two batches' statistics (momentum=None)
    m1, v1 = _stats(toy.conv1(x[:4]))
    m2, v2 = _stats(toy.conv1(x[4:]))
    torch.testing.assert_close(toy.bn.running_mean, (m1 + m2) / 2)
    torch.testing.assert_close(toy.bn.running_var, (v1 + v2) / 2)
    assert toy.bn.momentum == 0.1 and not toy.bn.training
    # FrozenBN: back in place, with the statistics of its input as the
    # re-estimated BN normalised it during the pass
    assert isinstance(toy.frozen, FrozenBatchNorm2d)
    assert torch.equal(toy.frozen.weight, weight)
    bn = nn.BatchNorm2d(4).train()
    bn.load_state_dict(toy.bn.state_dict())
    with torch.no_grad():
        feats = [toy.conv2(torch.relu(nn.functional.batch_norm(
            toy.conv1(b), None, None, toy.bn.weight, toy.bn.bias,
            training=True))) for b in (x[:4], x[4:])]
    means, variances = zip(*[_stats(f) for f in feats])
    torch.testing.assert_close(toy.frozen.running_mean,
                               sum(means) / 2, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(toy.frozen.running_var,
                               sum(variances) / 2, rtol=1e-4, atol=1e-5)


class Strided(nn.Module):
    """A FrozenBN on the input, a 1 x 1 conv of stride 2, a BN: statistics
    at strides 1 and 2."""

    def __init__(self):
        super().__init__()
        self.frozen = FrozenBatchNorm2d(3)
        self.conv = nn.Conv2d(3, 4, 1, stride=2)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn(self.conv(self.frozen(x)))

    extract_feat = forward


class Tracker(nn.Module):
    """What reestimate_bn_stats reads: a preprocessor and a detector."""

    def __init__(self, pad_size_divisor=8):
        super().__init__()
        from mmdet.models.data_preprocessors import TrackDataPreprocessor
        self.data_preprocessor = TrackDataPreprocessor(
            pad_size_divisor=pad_size_divisor)
        self.detector = Strided()


def _raw_batch(images):
    from mmdet.structures import DetDataSample, TrackDataSample
    samples = []
    for img in images:
        sample = TrackDataSample()
        sample.video_data_samples = [DetDataSample(metainfo=dict(
            img_shape=tuple(img.shape[-2:])))]
        samples.append(sample)
    return dict(inputs=[img[None] for img in images], data_samples=samples)


def _pooled(maps):
    """Mean and unbiased variance over every position of (C, h, w) maps."""
    x = torch.cat([m.flatten(1) for m in maps], dim=1)
    return x.mean(1), x.var(1, unbiased=True)


def test_statistics_count_only_each_images_own_pixels():
    """A batch of a 13 x 21 and an 8 x 10 image (padded to 16 x 24): every
    layer's statistics are those of the two unpadded images, at stride 1
    and at stride 2 (ceil(h / 2) x ceil(w / 2) positions each)."""
    from mmplug.engine.runner.adabn_loop import reestimate_bn_stats
    torch.manual_seed(0)
    model = Tracker()
    images = [torch.randint(0, 255, (3, 13, 21)).float(),
              torch.randint(0, 255, (3, 8, 10)).float()]
    assert reestimate_bn_stats(model, [_raw_batch(images)],
                               ['detector']) == 2
    net = model.detector
    mean, var = _pooled(images)
    torch.testing.assert_close(net.frozen.running_mean, mean)
    torch.testing.assert_close(net.frozen.running_var, var)
    # the next layer sees the images normalised with those statistics
    # (biased variance, as BatchNorm in training mode)
    scale = torch.rsqrt(var * (13 * 21 + 80 - 1) / (13 * 21 + 80) + 1e-5)
    with torch.no_grad():
        feats = [net.conv(((img - mean[:, None, None]) *
                           scale[:, None, None])[None])[0] for img in images]
    assert [f.shape[-2:] for f in feats] == [(7, 11), (4, 5)]
    mean, var = _pooled(feats)
    torch.testing.assert_close(net.bn.running_mean, mean, rtol=1e-4,
                               atol=1e-5)
    torch.testing.assert_close(net.bn.running_var, var, rtol=1e-4,
                               atol=1e-5)


def test_online_statistics_count_only_the_frames_own_pixels():
    """Online BN: a 13 x 21 frame padded to 16 x 24 updates the statistics
    with its own pixels only."""
    from mmplug.models.utils.bn_stats import OnlineBNStats
    model = Tracker()
    model.detector.frozen.running_mean.fill_(5.0)
    bn = OnlineBNStats(model, ['detector'], momentum=0.1)
    img = torch.randint(0, 255, (3, 13, 21)).float()
    with torch.no_grad(), bn.tracking():
        data = model.data_preprocessor(_raw_batch([img]))
        assert data['inputs'].shape[-2:] == (16, 24)
        model.detector(data['inputs'][:, 0])
    mean, var = _pooled([img])  # the first frame weighs 1
    torch.testing.assert_close(model.detector.frozen.running_mean, mean)
    torch.testing.assert_close(model.detector.frozen.running_var, var,
                               rtol=1e-5, atol=1e-5)


def test_no_norm_layer_is_an_error():
    with pytest.raises(ValueError, match='no BatchNorm / FrozenBN layer'):
        with estimate_bn_stats(nn.Sequential(nn.Conv2d(1, 1, 1)), ['']):
            pass
    with pytest.raises(ValueError, match="no module 'backbone'"):
        with estimate_bn_stats(Toy(), ['backbone']):
            pass


def _train(config, work, root, *extra, flags=()):
    return run_tool([osp.join('tools', 'train.py'), config, '--work-dir',
                     str(work)] + list(flags) + ['--cfg-options'] +
                    retarget_options(root) + TINY + list(extra))


@pytest.fixture(scope='module')
def source(synth_root, tmp_path_factory):
    work = tmp_path_factory.mktemp('source')
    _train(SYNTH_CONFIG, work, synth_root, 'train_cfg.max_epochs=1')
    return str(work / 'epoch_1.pth')


def _state(path):
    return torch.load(path, map_location='cpu')['state_dict']


@pytest.fixture(scope='module')
def adabn(synth_root, source, tmp_path_factory):
    """The AdaBN tool's model of the source (its checkpoint path)."""
    work = tmp_path_factory.mktemp('adabn')
    run_tool([osp.join('tools', 'train.py'), ADABN_CONFIG, '--work-dir',
              str(work), '--cfg-options'] + retarget_options(synth_root) +
             TINY[3:] + [f'load_from={source}'])
    return str(work / 'epoch_1.pth')


@pytest.mark.slow
def test_adabn_tool_changes_only_backbone_statistics(synth_root, source,
                                                     adabn, tmp_path):
    before, after = _state(source), _state(adabn)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith('detector.backbone.') and k.endswith(
        ('running_mean', 'running_var', 'num_batches_tracked'))
        for k in changed)
    assert any(k.endswith('running_mean') for k in changed)
    proc = run_tool([osp.join('tools', 'test.py'), ADABN_CONFIG, adabn,
                     '--work-dir',
                     str(tmp_path / 't'), '--cfg-options'] +
                    retarget_options(synth_root) + TINY[-4:])
    assert 'HOTA' in json.loads((tmp_path / 't' / 'metrics.json')
                                .read_text())
    assert proc.returncode == 0


@pytest.mark.slow
def test_darth_target_bn_start_and_scaled_lr(synth_root, source, adabn,
                                            tmp_path):
    proc = _train(DARTH_CONFIG, tmp_path / 'w', synth_root,
                  f'load_from={source}', 'train_cfg.bn_stats=target',
                  'model.conf_thr=0.3', flags=['--auto-scale-lr'])
    log = proc.stdout + proc.stderr
    assert 'bn_stats=target: norm statistics' in log
    # --auto-scale-lr: DARTH's lr 0.002 for 16 frames, for a batch of 2
    assert 'Scaling the original LR by 0.125' in log
    assert 'lr: 2.5000e-04' in log
    src, out = _state(source), _state(tmp_path / 'w' / 'epoch_2.pth')
    key = 'detector.backbone.layer3.0.bn1.running_var'
    assert not torch.allclose(out[key], src[key])  # target statistics
    # AdaBN's loader (train_cfg.bn_dataloader): exactly the AdaBN model's
    # statistics (DARTH's own batches of 2 would give smaller variances),
    # kept by the student throughout (FrozenBN)
    ada = _state(adabn)
    stats = [k for k in ada if k.startswith('detector.backbone.')
             and k.endswith(('running_mean', 'running_var'))]
    assert stats and all(torch.equal(out[k], ada[k]) for k in stats)
    # the teacher's too (the EMA of equal values keeps them, up to float
    # rounding over the steps: ~1e-6 relative here)
    torch.testing.assert_close(out[key], out['teacher_' + key], rtol=1e-5,
                               atol=1e-6)
    assert torch.equal(out['detector.backbone.layer1.0.conv1.weight'],
                       src['detector.backbone.layer1.0.conv1.weight'])


def test_bn_dataloader_must_be_changes_to_a_loader_config():
    from mmplug.engine.runner.adaptation_loop import AdaptationTrainLoop
    with pytest.raises(TypeError, match='train_cfg.bn_dataloader'):
        AdaptationTrainLoop(None, dict(batch_size=2), 1, bn_stats='target',
                            bn_dataloader=[dict(batch_size=8)])


def test_auto_scale_lr_flag(tmp_path):
    args = Namespace(config=SYNTH_CONFIG, cfg_options=None,
                     allow_new_keys=False, launcher='none', work_dir=None,
                     amp=False, resume=None, auto_scale_lr=True)
    with pytest.raises(KeyError, match='has no auto_scale_lr'):
        train_cfg_from_args(args)
    args.config = DARTH_CONFIG
    assert Config.fromfile(DARTH_CONFIG).auto_scale_lr.enable is False
    cfg = train_cfg_from_args(args)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16)

