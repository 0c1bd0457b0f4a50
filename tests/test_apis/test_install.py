"""The package needs no checkout: installed (not editable) elsewhere, it
runs the demo's quick setting from another folder."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from ..conftest import REPO

# what a checkout holds besides the sources (never copied)
_TOP_LEVEL = {'.git', '.venv', 'work_dirs', 'data', 'checkpoints', 'build',
              '.pytest_cache'}


def _ignore(folder, names):
    skip = {n for n in names if n == '__pycache__' or n == '.mim' or
            n.endswith('.egg-info')}
    if osp.samefile(folder, REPO):
        skip |= _TOP_LEVEL & set(names)
    return skip


@pytest.mark.slow
@pytest.mark.timeout(3000)  # trains a source model: minutes
def test_installed_package_runs_the_quick_demo_elsewhere(tmp_path):
    # a copy of the sources: installing from the checkout itself would
    # replace its configs link with a copy (as mmdet's setup.py does)
    src = tmp_path / 'src'
    shutil.copytree(REPO, src, ignore=_ignore)
    site = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--no-build-isolation', '--no-index', '--target',
                    str(site), str(src)], check=True, cwd=tmp_path,
                   capture_output=True)
    configs = site / 'mmplug' / '.mim' / 'configs'
    assert configs.is_dir() and not configs.is_symlink()
    assert (configs / 'darth' /
            'darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py').is_file()

    run = tmp_path / 'run'
    run.mkdir()
    code = ('import mmplug; print("mmplug from", mmplug.__file__); '
            'from mmplug.apis.demo import run_demo; '
            "run_demo('demo', quick=True, methods=['adabn'], "
            'min_source_hota=0)')
    env = dict(os.environ, PYTHONPATH=str(site))
    env.setdefault('OMP_NUM_THREADS',
                   os.environ.get('MMPLUG_TEST_THREADS', '2'))
    proc = subprocess.run([sys.executable, '-c', code], cwd=run, env=env,
                          capture_output=True, text=True, timeout=2400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert f'mmplug from {site}' in proc.stdout
    # no step reached into the checkout (its .venv, where the interpreter
    # may live, aside)
    for folder in ('configs', 'mmplug', 'tools'):
        assert osp.join(REPO, folder) not in proc.stdout + proc.stderr
    summary = json.loads((run / 'demo' / 'summary.json').read_text())
    assert set(summary) >= {'source_on_source', 'source_on_target',
                            'adabn_on_target', 'meta'}
    assert summary['meta']['code']['commit'] is None  # no checkout
    png = (run / 'demo' / 'summary.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5_000
