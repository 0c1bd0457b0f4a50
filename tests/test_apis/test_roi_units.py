"""Dead-unit counts of the RoI head (the collapsed-training diagnosis)."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmplug.apis.roi_units import load_images, roi_head_units

from ..conftest import SYNTH_CONFIG, build_model
from ..test_tools._run import run_tool


@pytest.fixture
def model_and_images(synth_root):
    torch.manual_seed(0)
    model = build_model(Config.fromfile(SYNTH_CONFIG).model)
    files = load_images(osp.join(synth_root, 'val', '*', 'img1', '*.jpg'), 2)
    return model, files


def test_counts_live_units_and_dead_ones(model_and_images):
    model, files = model_and_images
    counts = roi_head_units(model, files)
    assert set(counts) == {'0', '1'}
    for c in counts.values():
        assert c['units'] == 256 and 0 < c['alive'] <= 1
        assert c['rois'] == counts['0']['rois'] > 0
    # kill the second FC: every pre-activation negative, its ReLUs dead
    model.detector.roi_head.bbox_head.shared_fcs[1].bias.data.fill_(-1e4)
    dead = roi_head_units(model, files)
    assert dead['1']['alive'] == 0.0 and dead['1']['mean_act'] == 0.0
    assert dead['0'] == counts['0']  # the layer before is unchanged


def test_bad_arguments_are_named(model_and_images, tmp_path):
    model, files = model_and_images
    with pytest.raises(ValueError, match="no 'nope'"):
        roi_head_units(model, files, module='detector.nope')
    with pytest.raises(ValueError, match='no nn.Linear'):
        roi_head_units(model, files, module='detector.backbone.conv1')
    with pytest.raises(FileNotFoundError, match='no image matches'):
        load_images(str(tmp_path / '*.jpg'), 8)
    with pytest.raises(ValueError, match='max_images must be >= 1'):
        load_images(files[0], 0)


def test_tool_writes_the_counts(model_and_images, synth_root, tmp_path):
    model, _ = model_and_images
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = tmp_path / 'units.json'
    proc = run_tool([
        'tools/analysis_tools/roi_head_units.py', SYNTH_CONFIG, str(ckpt),
        '--images', osp.join(synth_root, 'val', '*', 'img1', '*.jpg'),
        '--max-images', '2', '--out', str(out)
    ])
    with open(out) as f:
        saved = json.load(f)
    direct = roi_head_units(model, load_images(
        osp.join(synth_root, 'val', '*', 'img1', '*.jpg'), 2))
    assert set(saved) == set(direct)
    for name, c in direct.items():
        assert saved[name] == pytest.approx(c)
    assert '% alive' in proc.stdout
