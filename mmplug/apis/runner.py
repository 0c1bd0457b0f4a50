"""What tools/train.py and tools/test.py do, as importable functions.

Thin layers over mmengine's Runner, following mmdet's tools: load the config,
merge ``--cfg-options`` (strictly), set work dir / resume / AMP / launcher,
build the Runner and run it.
"""
import os
import os.path as osp
from argparse import Namespace
from typing import Dict, Optional

from mmengine.config import Config
from mmengine.runner import Runner

from mmplug.utils.checks import (check_checkpoint_fits, check_image_files,
                                 dataset_files)
from mmplug.utils.config import flatten_metrics, merge_cfg_options
from mmplug.utils.io import dump_json_atomic


def load_config(path: str, cfg_options: Optional[dict] = None,
                allow_new_keys: bool = False) -> Config:
    """Load a config file and merge (strictly checked) overrides."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    return merge_cfg_options(cfg, cfg_options, allow_new_keys)


def _work_dir(cfg: Config, args: Namespace) -> str:
    if args.work_dir is not None:
        return args.work_dir
    if cfg.get('work_dir', None) is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])


def check_data(cfg: Config, splits=('train', 'val', 'test')) -> None:
    """Fail before any work when an annotation file or image is absent."""
    for split, ann_file, img_dir in dataset_files(cfg):
        if split not in splits:
            continue
        if not osp.isfile(ann_file):
            raise FileNotFoundError(
                f'{split}_dataloader.dataset.ann_file: {ann_file} does not '
                'exist')
        check_image_files(ann_file, img_dir)


def init_cpu_dist(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work without a GPU (gloo).

    mmengine 0.10.7's pytorch launcher always calls
    ``torch.cuda.set_device`` (it skips its own set-up when a process group
    already exists), and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``, which DDP refuses for CPU modules.
    """
    import torch
    import torch.distributed as dist
    if cfg.get('launcher', 'none') != 'pytorch' or \
            torch.cuda.is_available() or dist.is_initialized():
        return
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get(
        'backend', 'gloo')
    dist.init_process_group(backend='gloo' if backend == 'nccl' else backend)
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def build_runner(cfg: Config) -> Runner:
    """Runner from ``cfg.runner_type`` (a registered runner) or the default."""
    init_cpu_dist(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    from mmengine.registry import RUNNERS
    return RUNNERS.build(cfg)


def train_cfg_from_args(args: Namespace) -> Config:
    """Config for training from tools/train.py's arguments."""
    cfg = load_config(args.config, args.cfg_options, args.allow_new_keys)
    cfg.launcher = args.launcher
    cfg.work_dir = _work_dir(cfg, args)
    if getattr(args, 'auto_scale_lr', False):
        scale = cfg.get('auto_scale_lr')
        if not scale or 'base_batch_size' not in scale:
            raise KeyError(f'--auto-scale-lr: {args.config} has no '
                           'auto_scale_lr = dict(enable=..., '
                           'base_batch_size=...)')
        scale.enable = True
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def test_cfg_from_args(args: Namespace) -> Config:
    """Config for testing a checkpoint from tools/test.py's arguments."""
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = load_config(args.config, args.cfg_options, args.allow_new_keys)
    cfg.launcher = args.launcher
    cfg.work_dir = _work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        vis = cfg.default_hooks.get('visualization', None)
        if vis is None or 'Track' not in vis.get('type', ''):
            raise KeyError('--show-dir needs default_hooks.visualization to '
                           'be a TrackVisualizationHook in the config')
        vis.draw = True
        vis.frame_interval = 1
        vis.test_out_dir = osp.abspath(args.show_dir)
    if getattr(args, 'out_dir', None):
        _write_mot_results(cfg, args.out_dir, args.format_only)
    elif getattr(args, 'format_only', False):
        raise ValueError('--format-only needs --out-dir')
    return cfg


def _write_mot_results(cfg: Config, out_dir: str,
                       format_only: bool) -> None:
    """Make MOTChallengeMetric keep its ``<seq>.txt`` files in ``out_dir``.

    mmdet's metric deletes an existing ``outfile_prefix`` folder, so only a
    new or empty folder is accepted (nothing already written is lost).
    """
    if osp.isdir(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f'--out-dir {out_dir} exists and is not empty; '
                              'choose a new folder')
    evaluators = cfg.test_evaluator
    evaluators = evaluators if isinstance(evaluators, list) else [evaluators]
    mot = [e for e in evaluators if e.get('type') == 'MOTChallengeMetric']
    if not mot:
        raise KeyError('--out-dir needs a MOTChallengeMetric in '
                       'test_evaluator')
    for metric in mot:
        metric.outfile_prefix = osp.abspath(out_dir)
        metric.format_only = format_only
    cfg.test_evaluator = mot if format_only else evaluators


def run_test(cfg: Config, allow_missing: bool = False) -> Dict[str, float]:
    """Test, then write the flat metrics to ``<work_dir>/metrics.json``;
    a checkpoint that misses model weights is refused unless
    ``allow_missing``."""
    check_data(cfg, splits=('test', ))
    runner = build_runner(cfg)
    check_checkpoint_fits(runner.model, cfg.load_from, allow_missing)
    metrics = flatten_metrics(runner.test() or {})
    if runner.rank == 0:
        dump_json_atomic(metrics, osp.join(cfg.work_dir, 'metrics.json'),
                         indent=2)
    return metrics
