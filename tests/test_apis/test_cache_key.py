"""Cached runs are keyed by everything that determines them, and an
adaptation split that holds test frames is refused unless transductive."""
import json
import os.path as osp
import shutil

import pytest

import mmplug
from mmplug.apis import cache_key, experiment
from mmplug.apis.cache_key import code_version, git_commit, run_key
from mmplug.apis.config_files import configs_root, get_config_file
from mmplug.apis.experiment import Experiment, parse_options
from mmplug.apis.runner import load_config

from ..conftest import REPO, SYNTH_CONFIG, retarget_options


def _key(root, *options, checkpoint=None):
    cfg = load_config(SYNTH_CONFIG,
                      parse_options(retarget_options(root) + list(options)))
    return run_key(cfg, 'test', ('test', ), checkpoint)


def test_the_key_covers_options_data_checkpoint_and_code(
        synth_root, tmp_path, monkeypatch):
    key, inputs = _key(synth_root)
    assert key == _key(synth_root)[0] and len(key) == 16
    assert inputs['config']['randomness']['seed'] == 0
    assert inputs['data']['test']['ann_file'] == osp.join(
        synth_root, 'annotations', 'val_cocoformat.json')
    # where a run writes (and the path of the checkpoint, hashed apart) is
    # not what it computes
    cfg = load_config(SYNTH_CONFIG,
                      parse_options(retarget_options(synth_root)))
    cfg.work_dir, cfg.load_from = '/x', '/y.pth'
    assert run_key(cfg, 'test', ('test', ))[0] == key
    assert _key(synth_root, 'randomness.seed=1')[0] != key
    assert _key(synth_root,
                'model.tracker.init_score_thr=0.5')[0] != key
    # the annotation file's content, at the same path
    root = str(tmp_path / 'root')
    shutil.copytree(synth_root, root)
    before = _key(root)[0]
    ann = osp.join(root, 'annotations', 'val_cocoformat.json')
    with open(ann) as f:
        data = json.load(f)
    data['annotations'] = data['annotations'][1:]
    with open(ann, 'w') as f:
        json.dump(data, f)
    assert _key(root)[0] != before
    # the checkpoint's content, not its path
    a, b = tmp_path / 'a.pth', tmp_path / 'b.pth'
    a.write_bytes(b'one')
    b.write_bytes(b'two')
    with_a = _key(synth_root, checkpoint=str(a))[0]
    assert with_a != _key(synth_root, checkpoint=str(b))[0]
    b.write_bytes(b'one')
    assert with_a == _key(synth_root, checkpoint=str(b))[0]
    # the code version
    monkeypatch.setattr(cache_key, 'git_commit', lambda: 'f' * 40)
    assert _key(synth_root)[0] != key
    assert code_version() == dict(version=mmplug.__version__,
                                  commit='f' * 40)


@pytest.mark.skipif(not osp.exists(osp.join(REPO, '.git')),
                    reason='not a git checkout')
def test_git_commit_is_read_from_the_checkout():
    import subprocess
    try:
        head = subprocess.run(['git', '-C', REPO, 'rev-parse', 'HEAD'],
                              capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip('no git to compare with')
    assert git_commit() == head


def test_configs_come_with_the_package(tmp_path):
    path = get_config_file('qdtrack/qdtrack_faster-rcnn_r18_fpn_2xb2-cpu_'
                           'synth.py')
    assert osp.samefile(path, SYNTH_CONFIG)
    assert path.startswith(osp.join(osp.dirname(mmplug.__file__), '.mim'))
    with pytest.raises(FileNotFoundError, match="no config 'qdtrack/x.py'"):
        get_config_file('qdtrack/x.py')
    with pytest.raises(FileNotFoundError,
                       match=r'has no configs .*\(re\)install the package'):
        configs_root(str(tmp_path))


@pytest.fixture
def no_steps(monkeypatch):
    """Record the steps :meth:`Experiment.run` would run, run none."""
    calls = []

    def train(config, cell_dir, options, load_from=None):
        calls.append(('train', cell_dir))
        return 'adapted.pth', True

    def test(config, ckpt, cell_dir, options, out_dir=False):
        calls.append(('test', cell_dir))
        return dict(HOTA=1.0), osp.join(cell_dir, 'k'), True

    monkeypatch.setattr(experiment, 'train', train)
    monkeypatch.setattr(experiment, 'test', test)
    return calls


def test_adapting_on_test_frames_is_refused_unless_transductive(
        synth_root, tmp_path, no_steps):
    overlapping = dict(adapt_split='val', test_split='val')
    exp = Experiment(synth_root, **overlapping)
    with pytest.raises(ValueError, match=r'method adabn: the adaptation split'
                       r' \(.*val_cocoformat.json\) and the test split .* '
                       r'share 8 image\(s\).*--transductive'):
        exp.run('adabn', 'source.pth', synth_root, 'w', 0)
    assert no_steps == []  # refused before any step
    # disjoint splits run
    exp = Experiment(synth_root, adapt_split='train', test_split='val')
    exp.run('adabn', 'source.pth', synth_root, 'w', 0)
    assert no_steps == [('train', 'w/adapt'), ('test', 'w/test')]
    assert exp.adapted_on_test_frames == set()
    # the run says transductive: allowed and recorded
    exp = Experiment(synth_root, transductive=True, **overlapping)
    exp.run('adabn', 'source.pth', synth_root, 'w', 0)
    assert exp.adapted_on_test_frames == {'adabn'}
    # or the config does (as the R50 mirrors of DARTH's protocol do)
    config = tmp_path / 'transductive_adabn.py'
    config.write_text(f'_base_ = [{Experiment("x").configs.adabn!r}]\n'
                      'transductive = True\n')
    exp = Experiment(synth_root, **overlapping)
    exp.configs.adabn = str(config)
    exp.run('adabn', 'source.pth', synth_root, 'w', 0)
    assert exp.adapted_on_test_frames == {'adabn'}
