"""Runners built one after another in one process (``mmplug.apis.train``
then ``test``, a notebook, the online loop's tests)."""
import os.path as osp

from mmplug.apis.runner import build_runner, load_config

from ..conftest import SYNTH_CONFIG


def test_a_second_runner_logs_into_its_own_folder(tmp_path):
    runners = []
    for name in ('first', 'second'):
        cfg = load_config(SYNTH_CONFIG)
        cfg.work_dir = str(tmp_path / name)
        runners.append(build_runner(cfg))
    first, second = runners
    # the config's fixed visualizer name must not hand the second run the
    # first one's Visualizer (and with it the first run's log folder)
    assert second.visualizer is not first.visualizer
    for runner in runners:
        assert osp.isfile(osp.join(runner.log_dir, 'vis_data', 'config.py'))
