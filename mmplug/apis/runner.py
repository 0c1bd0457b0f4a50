"""Train and test in-process: :func:`train` and :func:`test`.

The train and test commands are thin wrappers of these two. Thin layers over
mmengine's Runner, following mmdet's tools: load the config, merge
``--cfg-options`` (strictly), set work dir / resume / AMP / launcher, build
the Runner and run it.
"""
import os
import os.path as osp
from argparse import Namespace
from typing import Dict, Optional, Union

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


def unformatted(cfg: Config) -> Config:
    """``cfg``, set to print its text without yapf (in place).

    A Runner prints the config's text four times (environment log, dumped
    config, visualizer, ``before_run``): mmengine formats it with yapf each
    time, 2-6 s per call on 2 cores for DARTH's nested view pipelines, more
    than a test run of the synthetic set takes. The unformatted text is
    still indented Python that loads to the same config. mmengine 0.10.7's
    ``Config.fromfile`` ignores its ``format_python_code=False`` for plain
    (non-lazy) configs, so the flag is set on the object.
    """
    object.__setattr__(cfg, '_format_python_code', False)
    return cfg


def release_visualizer(cfg: Config) -> None:
    """Forget this process's Visualizer of ``cfg.visualizer.name``.

    mmengine builds a Runner's Visualizer with ``get_instance(name)``, and
    the config's name is fixed (``'visualizer'``, as mmdet's), so a second
    Runner in one process (``train`` then ``test``, a notebook) would get
    the first one's Visualizer and log into the first run's folder. A
    Runner built earlier keeps the Visualizer it holds.
    """
    vis = cfg.get('visualizer')
    if not isinstance(vis, dict) or 'name' not in vis:
        return
    from mmdet.registry import VISUALIZERS
    vis_type = vis.get('type', 'Visualizer')
    cls = VISUALIZERS.get(vis_type) if isinstance(vis_type, str) else vis_type
    if cls is not None:  # mmengine has no public call to drop an instance
        cls._instance_dict.pop(vis['name'], None)


def build_runner(cfg: Config) -> Runner:
    """Runner from ``cfg.runner_type`` (a registered runner) or the default."""
    unformatted(cfg)
    init_cpu_dist(cfg)
    release_visualizer(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    from mmengine.registry import RUNNERS
    return RUNNERS.build(cfg)


def train_cfg_from_args(args: Namespace) -> Config:
    """Config for training from the train command's arguments."""
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
    """Config for testing a checkpoint from the test command's
    arguments."""
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
    mot = [e for e in evaluators if _is_mot_metric(e.get('type'))]
    if not mot:
        raise KeyError('--out-dir needs a MOTChallengeMetric (or subclass) '
                       'in test_evaluator')
    for metric in mot:
        metric.outfile_prefix = osp.abspath(out_dir)
        metric.format_only = format_only
    cfg.test_evaluator = mot if format_only else evaluators


def _is_mot_metric(metric_type) -> bool:
    """Whether an evaluator ``type`` is mmdet's MOTChallengeMetric or a
    subclass (such as mmplug's VideoMOTChallengeMetric)."""
    from mmdet.evaluation import MOTChallengeMetric  # noqa: PLC0415
    from mmdet.registry import METRICS  # noqa: PLC0415
    if isinstance(metric_type, str):
        metric_type = METRICS.get(metric_type)
    return isinstance(metric_type, type) and issubclass(
        metric_type, MOTChallengeMetric)


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


def _set_local_rank() -> None:
    # mmengine reads LOCAL_RANK; the launchers set it, a plain call does not
    os.environ.setdefault('LOCAL_RANK', '0')


def train(config: str,
          work_dir: Optional[str] = None,
          cfg_options: Optional[dict] = None,
          resume: Union[None, bool, str] = None,
          amp: bool = False,
          auto_scale_lr: bool = False,
          allow_new_keys: bool = False,
          launcher: str = 'none') -> Optional[str]:
    """Train a model from a config (what the train command runs).

    Args:
        config (str): Config file.
        work_dir (str, optional): Logs and checkpoints (default: the
            config's ``work_dir``, else ``./work_dirs/<config name>``).
        cfg_options (dict, optional): Overrides ``{dotted key: value}``; a
            key the config lacks is an error unless ``allow_new_keys``.
        resume (bool | str, optional): True (or ``'auto'``): continue from
            the latest checkpoint in the work dir; a path: from that one.
        amp (bool): Automatic mixed precision (``AmpOptimWrapper``).
        auto_scale_lr (bool): Scale the lr from
            ``auto_scale_lr.base_batch_size`` to the actual total batch.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        str | None: The checkpoint ``last_checkpoint`` names (on rank 0).
    """
    _set_local_rank()
    cfg = train_cfg_from_args(Namespace(
        config=config, work_dir=work_dir, cfg_options=cfg_options,
        allow_new_keys=allow_new_keys, launcher=launcher,
        auto_scale_lr=auto_scale_lr, amp=amp,
        resume='auto' if resume is True else (resume or None)))
    check_data(cfg, splits=('train', ))
    build_runner(cfg).train()
    marker = osp.join(cfg.work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        return f.read().strip()


def test(config: str,
         checkpoint: str,
         work_dir: Optional[str] = None,
         cfg_options: Optional[dict] = None,
         allow_new_keys: bool = False,
         show_dir: Optional[str] = None,
         out_dir: Optional[str] = None,
         format_only: bool = False,
         launcher: str = 'none',
         allow_missing: bool = False) -> Dict[str, float]:
    """Test a checkpoint (what the test command runs).

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file.
        work_dir (str, optional): Logs and ``metrics.json``.
        cfg_options (dict, optional): Overrides, as for :func:`train`.
        show_dir (str, optional): Draw every frame's tracks there.
        out_dir (str, optional): A new or empty folder for the tracks as
            MOTChallenge files ``<out_dir>/default-tracker/<seq>.txt``.
        format_only (bool): With ``out_dir``: only write the files.
        launcher (str): As for :func:`train`.
        allow_missing (bool): Test even when the checkpoint misses model
            weights (they keep their initialisation).

    Returns:
        dict: The flat metrics, also written to ``<work_dir>/metrics.json``.
    """
    _set_local_rank()
    return run_test(test_cfg_from_args(Namespace(
        config=config, checkpoint=checkpoint, work_dir=work_dir,
        cfg_options=cfg_options, allow_new_keys=allow_new_keys,
        launcher=launcher, show_dir=show_dir, out_dir=out_dir,
        format_only=format_only)), allow_missing)


# a function named ``test`` is no pytest test (tests import it)
test.__test__ = False
