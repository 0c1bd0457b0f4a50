"""check_checkpoint_fits: tools/test.py refuses a checkpoint that misses
model weights, and accepts every checkpoint the project produces."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmdet.registry import MODELS
from mmplug.utils.checks import CheckpointMismatchError, check_checkpoint_fits

from ..conftest import REPO, SYNTH_CONFIG


class ToyTeacher(nn.Module):
    """A student and a teacher copy, named as TeacherQDTrack names them."""

    def __init__(self):
        super().__init__()
        self.detector = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
        self.teacher_detector = copy.deepcopy(self.detector)


def _save(tmp_path, state, name='c.pth'):
    path = str(tmp_path / name)
    torch.save(dict(state_dict=state, meta=dict()), path)
    return path


def test_keys_that_match_nothing_are_refused(tmp_path):
    """mmdet's detector keys (``0.weight`` for ``detector.0.weight``):
    mmengine would only warn and test a random model."""
    model = ToyTeacher()
    state = {k.replace('detector.', '', 1): v
             for k, v in model.state_dict().items()
             if k.startswith('detector.')}
    path = _save(tmp_path, state)
    with pytest.raises(CheckpointMismatchError,
                       match=r'(?s)c\.pth misses 6 weights.*\n  missing: '
                       r'detector\.0\.weight\n.*--allow-missing') as err:
        check_checkpoint_fits(model, path)
    assert 'teacher_' not in str(err.value)  # a source model has none
    assert 'num_batches_tracked' not in str(err.value)
    missing = check_checkpoint_fits(model, path, allow_missing=True)
    assert missing[0] == 'missing: detector.0.weight' and len(missing) == 6


def test_source_and_adapted_checkpoints_fit(tmp_path):
    model = ToyTeacher()
    full = model.state_dict()
    source = {k: v for k, v in full.items() if not k.startswith('teacher_')}
    assert check_checkpoint_fits(model, _save(tmp_path, source)) == []
    assert check_checkpoint_fits(model, _save(tmp_path, full)) == []
    # DDP's module. prefix is stripped, as mmengine strips it
    ddp = {f'module.{k}': v for k, v in full.items()}
    assert check_checkpoint_fits(model, _save(tmp_path, ddp)) == []
    # an adapted checkpoint must carry the whole teacher
    partial = dict(full)
    partial.pop('teacher_detector.1.running_var')
    with pytest.raises(CheckpointMismatchError,
                       match='missing: teacher_detector.1.running_var'):
        check_checkpoint_fits(model, _save(tmp_path, partial))


def test_a_wrapped_model_is_checked_as_its_module(tmp_path):
    """tools/dist_test.sh wraps the model (MMDistributedDataParallel):
    its keys' ``module.`` prefix must not make every weight missing."""
    model = ToyTeacher()
    source = {k: v for k, v in model.state_dict().items()
              if not k.startswith('teacher_')}
    wrapped = torch.nn.DataParallel(model)  # a registered model wrapper
    assert check_checkpoint_fits(wrapped, _save(tmp_path, source)) == []


def test_wrong_shapes_are_refused_even_when_missing_is_allowed(tmp_path):
    model = ToyTeacher()
    state = model.state_dict()
    state['detector.0.weight'] = torch.zeros(5, 3, 1, 1)
    with pytest.raises(CheckpointMismatchError,
                       match=r'(?s)1 shape mismatches.*detector\.0\.weight: '
                       r'checkpoint \(5, 3, 1, 1\) vs model \(4, 3, 1, 1\)'):
        check_checkpoint_fits(model, _save(tmp_path, state),
                              allow_missing=True)


def _cpu_config(folder, kind):
    return osp.join(REPO, 'configs', folder,
                    f'{kind}_faster-rcnn_r18_fpn_{CPU_SUFFIX}')


CPU_SUFFIX = 'cpu_synth-none-to-fog.py'
ADABN = _cpu_config('adabn', 'adabn')
DARTH = _cpu_config('darth', 'darth')
ONLINE = _cpu_config('darth', 'darth-online')
KD = osp.join(REPO, 'configs', 'darth',
              'kdqdtrack_faster-rcnn_r18_fpn_cpu_synth.py')
# (test config, the model whose checkpoint it is tested with)
PRODUCED = [
    (SYNTH_CONFIG, SYNTH_CONFIG),  # a source QDTrack on its own config
    (ADABN, ADABN),  # AdaBN's epoch_1.pth (a QDTrack, new statistics)
    (ONLINE, SYNTH_CONFIG),  # online DARTH tests the source checkpoint
    # offline DARTH / KD test their adapted checkpoints (teacher included)
    (DARTH, DARTH), (KD, KD),
]


@pytest.mark.parametrize('config, producer', PRODUCED,
                         ids=[osp.basename(c) for c, _ in PRODUCED])
def test_checkpoints_the_project_produces_fit(tmp_path, config, producer):
    torch.manual_seed(0)
    state = MODELS.build(Config.fromfile(producer).model).state_dict()
    model = MODELS.build(Config.fromfile(config).model)
    assert check_checkpoint_fits(model, _save(tmp_path, state)) == []
