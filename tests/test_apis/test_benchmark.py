"""The benchmark runs both kinds of step (it times; it asserts no speed)."""
import torch
from mmengine.config import Config

from mmdet.registry import MODELS
from mmplug.apis.benchmark import benchmark
from mmplug.apis.demo import DARTH_CONFIG

from ..conftest import SYNTH_CONFIG, retarget


def test_benchmark_reports_medians_and_ratio(synth_root, tmp_path):
    source_cfg = retarget(Config.fromfile(SYNTH_CONFIG), synth_root)
    darth_cfg = retarget(Config.fromfile(DARTH_CONFIG), synth_root)
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'source.pth')
    torch.save(dict(state_dict=MODELS.build(source_cfg.model).state_dict()),
               ckpt)
    result = benchmark(source_cfg, darth_cfg, ckpt, iters=2, warmup=1)
    assert set(result) == {'qdtrack_step_s', 'darth_step_s', 'ratio'}
    assert result['qdtrack_step_s'] > 0 and result['darth_step_s'] > 0
    assert result['ratio'] == result['darth_step_s'] / \
        result['qdtrack_step_s']
