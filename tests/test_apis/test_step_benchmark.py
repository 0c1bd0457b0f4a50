"""The step benchmark times what the runner does, and only that.

It asserts no speed (a timed unit test would be flaky): it checks that the
reported medians come from the timed steps alone (warm-up excluded), that
every timed step really trained its model (forward, backward, optimiser
step) on its own batch, and that the DARTH step includes the EMA update.
"""
import json
import statistics

import pytest
import torch
from mmengine.config import Config

from mmdet.registry import MODELS
from mmplug.apis.experiment import Configs
from mmplug.apis.step_benchmark import benchmark

from ..conftest import SYNTH_CONFIG, retarget


@pytest.fixture(scope='module')
def result(synth_root, tmp_path_factory):
    source_cfg = retarget(Config.fromfile(SYNTH_CONFIG), synth_root)
    darth_cfg = retarget(Config.fromfile(Configs().darth), synth_root)
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


def test_r50_preset_feeds_mot17_sized_frames_without_weights(tmp_path):
    """The GPU preset: R50 MOT17 configs, synthetic frames resized to
    1920 x 1080 on loading, then the configs' own 1088 px pipelines; no
    Pretrained init_cfg is left (nothing to download or find)."""
    from mmdet.registry import DATASETS
    from mmplug.apis.step_benchmark import preset_configs, without_pretrained
    source_cfg, darth_cfg = preset_configs('r50', str(tmp_path))
    source = DATASETS.build(source_cfg.train_dataloader.dataset)
    key = source[(0, 0)]['data_samples'].video_data_samples[0]
    h, w = key.img_shape  # 16:9, scaled by 0.8..1.2, cropped to 1088
    assert w <= 1088 and 0.5 * w <= h <= 0.7 * w
    darth = DATASETS.build(darth_cfg.train_dataloader.dataset)
    views = darth[(0, 0)]['data_samples'].video_data_samples
    # P at DARTH's train resolution; T / S / C unpadded (the data
    # preprocessor pads each view's batch), at most the 1088 crop
    assert views[0].img_shape == (1080, 1920)
    assert all(h < w <= 1088 for h, w in (v.img_shape for v in views[1:]))
    model = without_pretrained(source_cfg.model)
    assert 'Pretrained' in str(source_cfg.model)  # local weight files
    assert 'Pretrained' not in str(model)
    with pytest.raises(ValueError, match="preset must be one of"):
        preset_configs('r101', str(tmp_path))


@pytest.mark.slow
def test_step_benchmark_tool_runs_from_random_weights(tmp_path):
    from ..test_tools._run import run_tool
    out = tmp_path / 'bench.json'
    proc = run_tool(['tools/analysis_tools/benchmark.py', '--random-weights',
                     '--iters', '2', '--warmup', '1', '--data-root',
                     str(tmp_path / 'data'), '--out', str(out)])
    last = proc.stdout.strip().splitlines()[-1]
    result = json.loads(out.read_text())
    assert last == f'darth_step/qdtrack_step = {result["ratio"]:.2f}'
    assert len(result['times']['darth']) == 2
