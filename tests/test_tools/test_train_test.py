"""End to end: tools/train.py and tools/test.py on a tiny synthetic set."""
import json
import os
import os.path as osp

import pytest
import torch

from ..conftest import REPO, SYNTH_CONFIG, retarget_options
from ._run import run_tool

# tiny and fast: 2 videos x 8 frames of 96 px, 1 epoch of 8 iterations
TINY = ['train_cfg.max_epochs=2', 'train_cfg.val_interval=10',
        'default_hooks.logger.interval=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False']


def _train_args(work_dir, root, *extra):
    return [osp.join('tools', 'train.py'), SYNTH_CONFIG, '--work-dir',
            str(work_dir), '--cfg-options'] + retarget_options(root) + \
        TINY + list(extra)


@pytest.mark.slow
def test_train_then_test_writes_metrics(synth_root, tmp_path):
    work = tmp_path / 'work'
    run_tool(_train_args(work, synth_root))
    ckpt = work / 'epoch_2.pth'
    assert ckpt.is_file()
    test_dir, out_dir = tmp_path / 'test', tmp_path / 'tracks'
    show_dir = tmp_path / 'show'
    proc = run_tool([
        osp.join('tools', 'test.py'), SYNTH_CONFIG, str(ckpt), '--work-dir',
        str(test_dir), '--out-dir', str(out_dir), '--show-dir',
        str(show_dir), '--cfg-options'
    ] + retarget_options(synth_root) + TINY[-4:])
    metrics = json.loads((test_dir / 'metrics.json').read_text())
    for key in ('HOTA', 'MOTA', 'IDF1', 'DetA', 'AssA', 'bbox_mAP'):
        assert key in metrics, key
        assert isinstance(metrics[key], float)
    assert 'HOTA' in proc.stdout
    # the track files compose with eval_mot.py: same numbers offline
    tracks = out_dir / 'default-tracker'
    assert (tracks / 'synth-s1-v000.txt').is_file()
    offline = tmp_path / 'offline.json'
    run_tool([osp.join('tools', 'analysis_tools', 'eval_mot.py'),
              '--gt-dir', osp.join(synth_root, 'val'), '--res-dir',
              str(tracks), '--out', str(offline)])
    combined = json.loads(offline.read_text())['COMBINED']
    for key in ('HOTA', 'MOTA', 'IDF1'):
        assert combined[key] == pytest.approx(100 * metrics[key], abs=1e-6)
    # --show-dir: one picture per frame (8 frames in the val video)
    pictures = [p for p in show_dir.rglob('*.jpg')]
    assert len(pictures) == 8


@pytest.mark.slow
def test_custom_hook_from_config(synth_root, tmp_path):
    work = tmp_path / 'work'
    config = osp.join(REPO, 'examples', 'custom_hook',
                      'qdtrack_synth_with_loss_record.py')
    args = _train_args(work, synth_root, 'train_cfg.max_epochs=1')
    args[1] = config
    run_tool(args, extra_pythonpath=[osp.join(REPO, 'examples',
                                              'custom_hook')])
    lines = (work / 'losses.jsonl').read_text().splitlines()
    assert len(lines) == 8  # one per iteration
    record = json.loads(lines[0])
    assert record['iter'] == 1 and 'loss_track' in record


def test_cfg_options_typo_names_the_key(synth_root, tmp_path):
    proc = run_tool(_train_args(tmp_path, synth_root,
                                'model.detector.backbone.dept=18'),
                    check=False)
    assert proc.returncode != 0
    assert 'model.detector.backbone.dept' in proc.stderr
    assert 'did you mean depth' in proc.stderr
    assert not os.listdir(tmp_path)  # nothing started


def test_missing_image_names_the_file(synth_root, tmp_path):
    import shutil
    root = tmp_path / 'root'
    shutil.copytree(synth_root, root)
    victim = root / 'train' / 'synth-s0-v000' / 'img1' / '000003.jpg'
    victim.unlink()
    proc = run_tool(_train_args(tmp_path / 'w', str(root),
                                'train_cfg.max_epochs=1'), check=False)
    assert proc.returncode != 0
    assert str(victim) in proc.stderr


def test_absent_images_in_annotations_are_named(synth_root, tmp_path):
    import shutil
    root = tmp_path / 'root'
    shutil.copytree(synth_root, root)
    shutil.rmtree(root / 'train' / 'synth-s0-v001' / 'img1')
    proc = run_tool(_train_args(tmp_path / 'w', str(root)), check=False)
    assert proc.returncode != 0
    assert 'train_cocoformat.json lists 8 image(s) that do not exist' in \
        proc.stderr
    assert 'synth-s0-v001/img1/000001.jpg' in proc.stderr


def test_wrong_checkpoint_lists_mismatched_keys(synth_root, tmp_path):
    from mmengine.config import Config

    from mmdet.registry import MODELS
    cfg = Config.fromfile(SYNTH_CONFIG)
    cfg.model.detector.roi_head.bbox_head.num_classes = 3
    path = tmp_path / 'three_classes.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), path)
    proc = run_tool([osp.join('tools', 'test.py'), SYNTH_CONFIG, str(path),
                     '--work-dir', str(tmp_path / 't'), '--cfg-options'] +
                    retarget_options(synth_root), check=False)
    assert proc.returncode != 0
    assert 'three_classes.pth does not fit the model' in proc.stderr
    assert 'detector.roi_head.bbox_head.fc_cls.weight: checkpoint (4, 256)' \
        ' vs model (2, 256)' in proc.stderr
    assert not (tmp_path / 't' / 'metrics.json').exists()


def test_truncated_image_names_the_file(synth_root, tmp_path):
    import shutil
    root = tmp_path / 'root'
    shutil.copytree(synth_root, root)
    victim = root / 'train' / 'synth-s0-v001' / 'img1' / '000002.jpg'
    victim.write_bytes(victim.read_bytes()[:300])
    proc = run_tool(_train_args(tmp_path / 'w', str(root),
                                'train_cfg.max_epochs=1'), check=False)
    assert proc.returncode != 0
    assert f'{victim} is a truncated JPEG' in proc.stderr


def test_in_process_train_and_test_check_before_any_work(synth_root,
                                                         tmp_path):
    """The commands are thin wrappers of mmplug.apis.train / test, which
    refuse bad input in-process before building a runner."""
    from mmplug import apis
    from mmplug.utils.config import ConfigKeyError
    options = dict(o.split('=', 1) for o in retarget_options(synth_root))
    with pytest.raises(ConfigKeyError, match='did you mean depth'):
        apis.train(SYNTH_CONFIG, str(tmp_path / 'w'),
                   dict(options, **{'model.detector.backbone.dept': 18}))
    with pytest.raises(FileNotFoundError, match='nothing.pth does not exist'):
        apis.test(SYNTH_CONFIG, str(tmp_path / 'nothing.pth'),
                  str(tmp_path / 't'), options)
    assert not os.listdir(tmp_path)
    assert apis.test.__test__ is False  # pytest does not collect it
