import pytest
import torch

from mmplug.models.losses import FeatureStatsAlignLoss
from mmplug.models.losses.feature_alignment import (channel_moments,
                                                    valid_masks)


def _feats(seed=0, n=2, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 3, s, s, generator=g) * scale + shift
            for s in (16, 8)]


def _loss(feats, masks, weight=1.0):
    loss = FeatureStatsAlignLoss(num_levels=2, channels=3, loss_weight=weight)
    moments = [channel_moments(f, m) for f, m in zip(feats, masks)]
    loss.set_source(torch.stack([m for m, _ in moments]),
                    torch.stack([v for _, v in moments]), frames=2)
    return loss


def test_valid_masks_cover_the_image_not_its_padding():
    feats = _feats()
    # 64 x 64 padded batch: frame 0 fills it, frame 1 is 32 x 48
    masks = valid_masks(feats, [(64, 64), (32, 48)], (64, 64))
    assert masks[0][0].all()
    assert masks[0][1, 0, :8, :12].all() and masks[0][1].sum() == 8 * 12
    assert masks[1][1].sum() == 4 * 6


def test_zero_at_the_source_statistics_and_positive_off_them():
    feats = _feats()
    masks = valid_masks(feats, [(64, 64)] * 2, (64, 64))
    loss = _loss(feats, masks)
    assert loss(feats, masks).item() == pytest.approx(0.0, abs=1e-3)
    shifted = [f + 0.5 for f in feats]
    # |mu - mu_s| / (sigma_s + eps) ~ 0.5 / 1 per channel and level
    assert loss(shifted, masks).item() == pytest.approx(0.5, rel=0.05)
    assert loss(_feats(scale=2.0), masks).item() == pytest.approx(
        1.0, rel=0.1)  # sigma doubled


def test_padding_does_not_enter_and_weight_scales():
    feats = _feats()
    masks = valid_masks(feats, [(64, 64), (32, 32)], (64, 64))
    loss = _loss(feats, masks, weight=2.0)
    padded = [f.clone() for f in feats]
    for f, m in zip(padded, masks):
        f[~m.expand_as(f)] = 100.0  # garbage in the padded area
    assert loss(padded, masks).item() == pytest.approx(0.0, abs=1e-3)
    shifted = [f + 0.5 for f in feats]
    assert loss(shifted, masks).item() == pytest.approx(1.0, rel=0.05)


def test_gradient_moves_features_towards_the_source():
    feats = _feats()
    masks = valid_masks(feats, [(64, 64)] * 2, (64, 64))
    loss = _loss(feats, masks)
    x = [(f + 1.0).requires_grad_() for f in feats]
    loss(x, masks).backward()
    assert all(t.grad.sum() > 0 for t in x)  # lowering them lowers the loss


def test_no_source_statistics_is_an_error():
    loss = FeatureStatsAlignLoss(num_levels=2, channels=3)
    feats = _feats()
    masks = valid_masks(feats, [(64, 64)] * 2, (64, 64))
    with pytest.raises(RuntimeError, match='source_stats_dataloader'):
        loss(feats, masks)
    with pytest.raises(ValueError, match='num_levels / channels'):
        loss.set_source(torch.zeros(4, 3), torch.ones(4, 3), 1)
