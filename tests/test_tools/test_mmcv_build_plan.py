"""scripts/mmcv_build_plan.py: CPU or CUDA, toolkit, architectures and the
wheel-cache key, checked without building anything."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest

from ..conftest import REPO

spec = importlib.util.spec_from_file_location(
    'mmcv_build_plan', osp.join(REPO, 'scripts', 'mmcv_build_plan.py'))
plan = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plan)


@pytest.mark.parametrize('env, available, expected', [
    ({}, False, False), ({}, True, True),
    ({'MMPLUG_CUDA': '1'}, False, True), ({'MMPLUG_CUDA': '0'}, True, False),
])
def test_detection(env, available, expected):
    assert plan.want_cuda(env, available) is expected


def test_detection_rejects_other_values():
    with pytest.raises(ValueError, match="MMPLUG_CUDA must be 0, 1"):
        plan.want_cuda({'MMPLUG_CUDA': 'yes'}, False)


def test_arch_list():
    assert plan.arch_list({}, (9, 0)) == '9.0'
    assert plan.arch_list({'TORCH_CUDA_ARCH_LIST': '8.0;9.0'}, (9, 0)) == \
        '8.0;9.0'
    with pytest.raises(ValueError, match='set TORCH_CUDA_ARCH_LIST'):
        plan.arch_list({}, None)


def test_cache_keys_never_mix_cpu_and_cuda_wheels():
    cpu = plan.cache_key('2.14.1+cu130', 'cp311', False)
    assert cpu == 'torch-2.14.1+cu130-cp311'  # the key CPU wheels had
    a = plan.cache_key('2.14.1+cu130', 'cp311', True, '13.0', '9.0')
    b = plan.cache_key('2.14.1+cu130', 'cp311', True, '13.0', '8.0;9.0')
    assert a == 'torch-2.14.1+cu130-cp311-cuda13.0-arch9.0'
    assert b == 'torch-2.14.1+cu130-cp311-cuda13.0-arch8.0_9.0'
    assert len({cpu, a, b}) == 3


def test_toolkit_of_the_right_version(tmp_path):
    home = tmp_path / 'cuda-13.0'
    (home / 'bin').mkdir(parents=True)
    (home / 'version.json').write_text('{"cuda": {"version": "13.0.2"}}')
    (home / 'bin' / 'nvcc').write_text('')
    assert plan.toolkit_version(str(home)) == '13.0'
    assert plan.find_toolkit('13.0', {}, roots=(str(tmp_path), )) == \
        str(home)
    assert plan.find_toolkit('12.8', {}, roots=(str(tmp_path), )) is None
    with pytest.raises(ValueError, match='is CUDA 13.0, torch is built with '
                       '12.8'):
        plan.find_toolkit('12.8', {'CUDA_HOME': str(home)})


def test_toolkit_source(tmp_path):
    home = tmp_path / 'cuda-13.0'
    (home / 'bin').mkdir(parents=True)
    (home / 'version.json').write_text('{"cuda": {"version": "13.0.2"}}')
    (home / 'bin' / 'nvcc').write_text('')
    roots = (str(tmp_path), )
    assert plan.toolkit_home('13.0', {}, roots) == str(home)
    assert plan.toolkit_home(
        '13.0', {'MMPLUG_CUDA_TOOLKIT': 'registry'}, roots) is None
    assert plan.toolkit_home('12.8', {}, roots) is None  # -> registry
    with pytest.raises(ValueError, match='MMPLUG_CUDA_TOOLKIT=system: no '
                       'CUDA 12.8 toolkit'):
        plan.toolkit_home('12.8', {'MMPLUG_CUDA_TOOLKIT': 'system'}, roots)
    with pytest.raises(ValueError, match="must be one of"):
        plan.toolkit_home('13.0', {'MMPLUG_CUDA_TOOLKIT': 'conda'}, roots)


def test_plan_on_this_machine():
    env = dict(os.environ, MMPLUG_CUDA='0')
    out = subprocess.run([sys.executable, 'scripts/mmcv_build_plan.py'],
                         cwd=REPO, env=env, capture_output=True, text=True,
                         check=True).stdout
    assert 'MMPLUG_BUILD=cpu' in out and 'MMCV_CACHE_KEY=torch-' in out
    env.update(MMPLUG_CUDA='1', TORCH_CUDA_ARCH_LIST='9.0')
    out = subprocess.run([sys.executable, 'scripts/mmcv_build_plan.py'],
                         cwd=REPO, env=env, capture_output=True, text=True,
                         check=True).stdout
    import torch
    assert f'CUDA_VERSION={torch.version.cuda}' in out
    assert 'MMPLUG_BUILD=cuda' in out and 'arch9.0' in out
    assert 'nvidia-cuda-nvcc==' in out
