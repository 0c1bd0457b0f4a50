"""mmtrack 0.x / DARTH checkpoints convert into loadable mmplug ones.

mmtrack 0.x's QDTrack (mmdet 2.x FasterRCNN + QuasiDenseTrackHead with
RoIEmbedHead convs / fcs / fc_embed) and DARTH's teacher copies have the
parameter names of mmdet 3.x's modules, so the state dicts here are built
from the models themselves, wrapped the way mmcv 1.x saved them.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint

from mmdet.registry import MODELS
from mmplug.models.utils.checkpoint_conversion import convert_checkpoint

from ...conftest import REPO, SYNTH_CONFIG
from ...test_tools._run import run_tool

DARTH_CONFIG = osp.join(REPO, 'configs', 'darth',
                        'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')


def _mmcv1_checkpoint(state_dict, prefix=''):
    return dict(
        meta=dict(mmcv_version='1.6.0', config='model = dict(...)',
                  CLASSES=('pedestrian', ), epoch=4, iter=1000,
                  time='Fri Jan  6 10:00:00 2023', env_info='...',
                  hook_msgs=dict(last_ckpt='work_dirs/x/epoch_4.pth',
                                 best_score=np.float64(0.5))),
        state_dict={prefix + k: v for k, v in state_dict.items()},
        optimizer=dict(state={}, param_groups=[dict(lr=0.02)]))


@pytest.mark.parametrize('config, prefix', [(SYNTH_CONFIG, ''),
                                            (SYNTH_CONFIG, 'module.'),
                                            (DARTH_CONFIG, '')])
def test_converted_checkpoint_loads_strictly(config, prefix, tmp_path):
    model_cfg = Config.fromfile(config).model
    torch.manual_seed(0)
    source = MODELS.build(model_cfg)
    ckpt = _mmcv1_checkpoint(source.state_dict(), prefix)
    expected = MODELS.build(model_cfg).state_dict().keys()
    out, missing, unexpected = convert_checkpoint(ckpt, expected)
    assert missing == [] and unexpected == []
    assert out['meta']['dataset_meta'] == dict(classes=('pedestrian', ))
    assert 'optimizer' not in out
    path = str(tmp_path / 'out.pth')
    torch.save(out, path)
    target = MODELS.build(model_cfg)
    load_checkpoint(target, path, strict=True)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


def test_tool_reports_keys_it_cannot_map(tmp_path):
    model_cfg = Config.fromfile(SYNTH_CONFIG).model
    state = MODELS.build(model_cfg).state_dict()
    state['detector.old_head.weight'] = torch.zeros(1)
    state.pop('track_head.embed_head.fc_embed.weight')
    src = tmp_path / 'mmtrack.pth'
    torch.save(_mmcv1_checkpoint(state), src)
    out = tmp_path / 'out.pth'
    proc = run_tool(['tools/model_converters/mmtrack2mmplug.py', str(src),
                     str(out), '--config', SYNTH_CONFIG], check=False)
    assert proc.returncode == 1
    assert 'detector.old_head.weight' in proc.stderr
    assert 'track_head.embed_head.fc_embed.weight' in proc.stderr
    assert 'not written' in proc.stderr
    assert list(tmp_path.iterdir()) == [src]  # no output, no temporary file


def test_tool_writes_a_checkpoint_that_fits(tmp_path):
    model_cfg = Config.fromfile(SYNTH_CONFIG).model
    src = tmp_path / 'mmtrack.pth'
    torch.save(_mmcv1_checkpoint(MODELS.build(model_cfg).state_dict(),
                                 'module.'), src)
    out = tmp_path / 'out.pth'
    run_tool(['tools/model_converters/mmtrack2mmplug.py', str(src), str(out),
              '--config', SYNTH_CONFIG])
    assert 'state_dict' in torch.load(out, map_location='cpu')
