"""The step benchmark times what the runner does, and only that.

It asserts no speed (a timed unit test would be flaky): it checks that the
reported medians come from the timed steps alone (warm-up excluded), that
every timed step really trained its model (forward, backward, optimiser
step) on its own batch, and that the DARTH step includes the EMA update.
"""
import statistics

import pytest
import torch
from mmengine.config import Config

from mmdet.registry import MODELS
from mmplug.apis.benchmark import benchmark
from mmplug.apis.demo import DARTH_CONFIG

from ..conftest import SYNTH_CONFIG, retarget


@pytest.fixture(scope='module')
def result(synth_root, tmp_path_factory):
    source_cfg = retarget(Config.fromfile(SYNTH_CONFIG), synth_root)
    darth_cfg = retarget(Config.fromfile(DARTH_CONFIG), synth_root)
    torch.manual_seed(0)
    source = MODELS.build(source_cfg.model)
    path = str(tmp_path_factory.mktemp('bench') / 'source.pth')
    torch.save(dict(state_dict=source.state_dict()), path)
    out = benchmark(source_cfg, darth_cfg, path, iters=3, warmup=2)
    out['source'] = source.state_dict()
    return out


def test_medians_are_over_the_timed_steps_only(result):
    for name in ('qdtrack', 'darth'):
        times = result['times'][name]
        assert len(times) == 3  # the 2 warm-up steps are not timed
        assert result[f'{name}_step_s'] == statistics.median(times)
        assert result['steppers'][name].steps == 5  # but they ran
    assert result['ratio'] == pytest.approx(
        result['darth_step_s'] / result['qdtrack_step_s'])


def test_every_step_trains_its_model(result):
    source = result['source']
    for name in ('qdtrack', 'darth'):
        stepper = result['steppers'][name]
        assert stepper.model.training
        state = stepper.optim.optimizer.state
        weight = stepper.model.detector.rpn_head.rpn_conv.weight
        assert not torch.equal(weight.detach(),
                               source['detector.rpn_head.rpn_conv.weight'])
        # SGD's momentum buffer exists only after an optimiser step
        assert 'momentum_buffer' in state[weight]


def test_darth_step_includes_the_ema_update(result):
    model = result['steppers']['darth'].model
    teacher = model.teacher_detector.rpn_head.rpn_conv.weight
    student = model.detector.rpn_head.rpn_conv.weight
    source = result['source']['detector.rpn_head.rpn_conv.weight']
    moved = (teacher - source).abs().max()
    assert moved > 0  # the teacher is not frozen at the source
    # it moved by a small fraction of the student's change (momentum 0.002)
    assert moved < 0.05 * (student - source).abs().max()
