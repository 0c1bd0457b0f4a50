"""DARTH training refuses to start without a source checkpoint, or with one
that does not initialise every student weight, naming the keys; tools/test.py
refuses a checkpoint that misses model weights."""
import os.path as osp

import pytest
import torch

from ..conftest import REPO, SYNTH_CONFIG, retarget_options
from ..test_models.test_mot.test_darth_regime import source_checkpoint
from ._run import run_tool
from .test_train_test import TINY

DARTH_CONFIG = osp.join(REPO, 'configs', 'darth',
                        'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py')


def _train(root, work, *extra):
    return run_tool([osp.join('tools', 'train.py'), DARTH_CONFIG,
                     '--work-dir', str(work), '--cfg-options'] +
                    retarget_options(root) + TINY + list(extra), check=False)


def _no_checkpoints(work):
    return not list(work.glob('*.pth'))


def test_refuses_to_adapt_without_load_from(synth_root, tmp_path):
    proc = _train(synth_root, tmp_path / 'w')
    assert proc.returncode != 0
    assert 'needs a source checkpoint' in proc.stderr
    assert 'load_from=SOURCE.pth' in proc.stderr
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
    assert _no_checkpoints(tmp_path / 'w')


@pytest.mark.parametrize('edit, lines', [
    ('rename', ['missing: detector.rpn_head.rpn_conv.weight',
                'unexpected: detector.rpn_head.rpn_cnv.weight']),
    ('drop', ['missing: track_head.embed_head.fc_embed.bias']),
    ('shape', ['shape: detector.roi_head.bbox_head.fc_cls.weight: '
               'checkpoint (3, 256) vs model (2, 256)']),
])
def test_refuses_a_checkpoint_that_misses_student_keys(synth_root, tmp_path,
                                                       edit, lines):
    path = tmp_path / 'source.pth'
    source_checkpoint(str(path))
    ckpt = torch.load(path)
    state = ckpt['state_dict']
    if edit == 'rename':
        state['detector.rpn_head.rpn_cnv.weight'] = state.pop(
            'detector.rpn_head.rpn_conv.weight')
    elif edit == 'drop':
        state.pop('track_head.embed_head.fc_embed.bias')
    else:
        state['detector.roi_head.bbox_head.fc_cls.weight'] = torch.zeros(
            3, 256)
    torch.save(ckpt, path)
    proc = _train(synth_root, tmp_path / 'w', f'load_from={path}')
    assert proc.returncode != 0
    assert f'checkpoint {path} does not fit the model to adapt' in \
        proc.stderr
    for line in lines:
        assert line in proc.stderr
    assert _no_checkpoints(tmp_path / 'w')


def _test(root, ckpt, work, *flags):
    return run_tool([osp.join('tools', 'test.py'), SYNTH_CONFIG, str(ckpt),
                     '--work-dir', str(work), *flags, '--cfg-options'] +
                    retarget_options(root) + TINY[-4:], check=False)


def test_test_py_refuses_a_checkpoint_that_misses_weights(synth_root,
                                                          tmp_path):
    """mmdet detector keys (``backbone.*`` for ``detector.backbone.*``)
    match nothing: the test would run a random detector."""
    path = tmp_path / 'mmdet_style.pth'
    source_checkpoint(str(path))
    ckpt = torch.load(path)
    ckpt['state_dict'] = {k.replace('detector.', '', 1): v
                          for k, v in ckpt['state_dict'].items()}
    torch.save(ckpt, path)
    proc = _test(synth_root, path, tmp_path / 't')
    assert proc.returncode != 0
    assert f'checkpoint {path} misses' in proc.stderr
    assert 'missing: detector.backbone.conv1.weight' in proc.stderr
    assert '--allow-missing' in proc.stderr
    assert not (tmp_path / 't' / 'metrics.json').exists()
    # the flag tests anyway, with a warning
    proc = _test(synth_root, path, tmp_path / 't', '--allow-missing')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '--allow-missing: testing with' in proc.stdout + proc.stderr
    assert (tmp_path / 't' / 'metrics.json').is_file()
