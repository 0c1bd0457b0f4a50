"""Track a video (and adapt to it, without labels) from Python.

    model = init_tracker('configs/qdtrack/....py', 'source.pth', 'cpu')
    result = track_video(model, 'street.mp4', adapt='online')
    for frame in result:            # FrameTracks: ids, bboxes, scores
        ...
    print(result.learned_from['summary'])

``adapt``:

- ``'none'``: plain tracking with the model;
- ``'adabn'``: the backbone's norm statistics re-estimated on the footage's
  own frames first (one pass, no gradient, no label; ``AdaBNLoop`` with the
  project's AdaBN config), then tracking;
- ``'online'``: one pass, each frame tracked and then learned from
  (``OnlineAdaptationTestLoop`` with the project's online DARTH config:
  skip rule, ``reset='video'``);
- ``'darth'``: offline DARTH on the footage itself (its frames are the
  unlabelled target; ``AdaptationTrainLoop``, ``epochs`` epochs), then
  tracking with the adapted model.

How: the frames are written as a one-sequence MOTChallenge root with a
COCO-video annotation without boxes (:mod:`mmplug.apis.footage`), and
each mode's config (the project's own for the model's family, or
``adapt_config``) is pointed at it, so the project's loops run unchanged and
the tracks are those the test command gives on the same frames.

mmdet's ``init_track_model`` builds and loads the model
(:func:`init_tracker`). mmdet's ``inference_mot`` is not used: it runs the
test pipeline frame by frame on a float32 copy of a decoded frame (so its
tracks differ from the test command's, which resizes the uint8 image
read from the file), and no adaptation fits in it: the online step, the
AdaBN pass and DARTH's training are loops over a dataloader.
"""
import copy
import os.path as osp
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Union

import torch
from mmengine.config import Config
from mmengine.runner import Runner
from torch import nn

from mmplug.utils.checks import check_checkpoint_fits, check_image_files
from mmplug.utils.config import merge_cfg_options
from .footage import SPLIT, FrameTracks, Frames, write_sequence_root
from .config_files import get_config_file
from .runner import (build_runner, load_config, release_visualizer,
                     unformatted)
from .tracking_hooks import CollectTracks, ProgressBarHook

ADAPT_MODES = ('none', 'adabn', 'online', 'darth')
# the project's adaptation configs per model family
# (mode -> path under configs/)
FAMILIES = {
    'synth': dict(
        adabn='adabn/adabn_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py',
        darth='darth/darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py',
        online='darth/darth-online_faster-rcnn_r18_fpn_cpu_synth-none-to-'
        'fog.py'),
}
FAMILIES.update({
    data: dict(adabn=f'adabn/adabn_faster-rcnn_r50_fpn_{data}.py',
               darth=f'darth/darth_faster-rcnn_r50_fpn_4e_{data}.py',
               online=f'darth/darth-online_faster-rcnn_r50_fpn_{data}.py')
    for data in ('mot17halfval', 'dancetrackval', 'bdd100kval-pedestrian')
})


@dataclass
class TrackingResult:
    """Tracks of one video and what the adaptation learned from.

    Iterating yields one :class:`FrameTracks` per frame, in order.

    Attributes:
        name (str): The sequence name (file stem or folder name).
        adapt (str): The mode.
        tracks (list[FrameTracks]): Per frame.
        images (list[str]): The frame files (in ``work_dir``).
        learned_from (dict): ``frames`` (1-based numbers of the frames the
            model learned from), ``passes`` and ``summary`` (a sentence).
        seconds (dict): Wall time of ``adapt`` and ``track``.
        checkpoint (str, optional): The adapted checkpoint (adabn, darth;
            None when ``work_dir`` was temporary).
    """
    name: str
    adapt: str
    tracks: List[FrameTracks]
    images: List[str]
    learned_from: Dict
    seconds: Dict[str, float] = field(default_factory=dict)
    checkpoint: Optional[str] = None

    def __iter__(self) -> Iterator[FrameTracks]:
        return iter(self.tracks)

    def __len__(self) -> int:
        return len(self.tracks)


def init_tracker(config: Union[str, Config], checkpoint: str,
                 device: str = 'cpu',
                 cfg_options: Optional[dict] = None) -> nn.Module:
    """A QDTrack model from its config and checkpoint (mmdet's
    ``init_track_model``), ``model.cfg`` set, in eval mode.

    Raises:
        FileNotFoundError: Naming an absent config or checkpoint.
        ValueError: Naming every checkpoint tensor whose shape does not fit.
    """
    from mmengine.registry import init_default_scope

    from mmdet.apis import init_track_model
    if isinstance(config, str):
        config = load_config(config, cfg_options)
    elif cfg_options:
        config = merge_cfg_options(copy.deepcopy(config), cfg_options)
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    init_default_scope(config.get('default_scope', 'mmdet'))
    model = init_track_model(config, checkpoint, device=device)
    check_checkpoint_fits(model, checkpoint)
    return model


def default_adapt_config(cfg: Config, adapt: str) -> str:
    """The project's config of mode ``adapt`` for the family of the
    QDTrack config ``cfg``: the CPU synthetic one for a ResNet-18, the R50
    one of the data set named in the config file's name (MOT17 unless it
    names DanceTrack or BDD100K) for a ResNet-50."""
    depth = cfg.model.get('detector', {}).get('backbone', {}).get('depth')
    name = osp.basename(cfg.filename or '').lower()
    if depth == 18:
        family = 'synth'
    elif depth == 50:
        family = ('dancetrackval' if 'dancetrack' in name else
                  'bdd100kval-pedestrian' if 'bdd' in name else
                  'mot17halfval')
    else:
        raise ValueError(f'no default {adapt!r} config for a model with a '
                         f'backbone of depth {depth!r} ({name or "config"})'
                         ': pass adapt_config (--adapt-config)')
    return get_config_file(FAMILIES[family][adapt])


def track_video(model: nn.Module, frames: Frames, adapt: str = 'none',
                adapt_config: Optional[str] = None,
                cfg_options: Optional[dict] = None, epochs: int = 1,
                max_frames: Optional[int] = None,
                work_dir: Optional[str] = None,
                progress: bool = True) -> TrackingResult:
    """Track ``frames`` with ``model``, adapting to them first or while
    tracking (``adapt``, see the module's doc).

    Args:
        model (nn.Module): From :func:`init_tracker` (``model.cfg`` is the
            config it was trained with).
        frames (str | Sequence[np.ndarray]): A video file, a folder of
            images (sorted by name) or BGR frames.
        adapt (str): ``'none'``, ``'adabn'``, ``'online'`` or ``'darth'``.
        adapt_config (str, optional): The mode's config instead of the
            project's default (:func:`default_adapt_config`).
        cfg_options (dict, optional): Overrides of the mode's config (of
            ``model.cfg`` with ``'none'``), strictly checked.
        epochs (int): DARTH's epochs over the footage.
        max_frames (int, optional): Only the first ``max_frames`` frames.
        work_dir (str, optional): Keep the frames, logs and adapted
            checkpoints here (default: a temporary folder, removed).
        progress (bool): Progress bars (frames/s, ETA) on stdout.

    Returns:
        TrackingResult: Tracks per frame and what the model learned from.
    """
    if adapt not in ADAPT_MODES:
        raise ValueError(f'adapt must be one of {ADAPT_MODES}, got '
                         f'{adapt!r}')
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f'epochs must be an int >= 1, got {epochs!r}')
    tmp = work_dir is None
    work_dir = tempfile.mkdtemp(prefix='mmplug-track-') if tmp else work_dir
    try:
        info = write_sequence_root(frames, osp.join(work_dir, 'data'),
                                   max_frames)
        cfg = _mode_config(model, adapt, adapt_config, cfg_options,
                           osp.join(work_dir, 'data'))
        session = _Session(model, cfg, info, work_dir, progress)
        session.adapt = adapt
        result = getattr(session, f'run_{adapt}')(epochs)
    finally:
        if tmp:
            shutil.rmtree(work_dir, ignore_errors=True)
    if tmp:
        result.checkpoint = None
    return result


def _mode_config(model: nn.Module, adapt: str, adapt_config: Optional[str],
                 cfg_options: Optional[dict], root: str) -> Config:
    """The mode's config, pointed at the footage root, then overridden."""
    if adapt == 'none' and adapt_config is None:
        cfg = copy.deepcopy(model.cfg)
    else:
        cfg = load_config(adapt_config or
                          default_adapt_config(model.cfg, adapt))
    for split in ('train', 'test'):
        if cfg.get(f'{split}_dataloader'):
            _point_at(cfg[f'{split}_dataloader'], root)
    # every weight comes from the loaded checkpoint: no Pretrained init
    # (the R50 configs point at local files that need not exist)
    _drop_pretrained(cfg.model)
    cfg.log_level = 'WARNING'
    return merge_cfg_options(cfg, cfg_options)


def _point_at(loader: dict, root: str) -> None:
    dataset = loader.dataset
    dataset.data_root = root + '/'
    dataset.ann_file = f'annotations/{SPLIT}_cocoformat.json'
    dataset.data_prefix = dict(img_path=f'{SPLIT}/')
    loader.num_workers = 0
    loader.persistent_workers = False


def _drop_pretrained(node) -> None:
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            _drop_pretrained(value)


class _Session:
    """One ``track_video`` call: runners over the footage root."""

    def __init__(self, model, cfg, info, work_dir, progress):
        self.model, self.cfg, self.info = model, cfg, info
        self.work_dir, self.progress = work_dir, progress
        self.frames = list(range(1, info['num_frames'] + 1))
        self.device = next(model.parameters()).device
        check_image_files(info['ann_file'], osp.join(work_dir, 'data',
                                                     SPLIT))

    def run_none(self, epochs) -> TrackingResult:
        runner = self._runner('track', model=self.model)
        return self._track(runner, dict(
            frames=[], passes=0, summary='none: learned from no frame'))

    def run_adabn(self, epochs) -> TrackingResult:
        ckpt, seconds = self._train('adabn')
        learned = dict(frames=self.frames, passes=1, summary=(
            f'adabn: backbone norm statistics from {_span(self.frames)} '
            '(one pass, no gradient, no label)'))
        return self._track(self._runner('track', load_from=ckpt), learned,
                           ckpt, seconds)

    def run_darth(self, epochs) -> TrackingResult:
        self.cfg.train_cfg.max_epochs = epochs
        self.cfg.train_cfg.val_begin = epochs + 1
        ckpt, seconds = self._train('darth')
        learned = dict(frames=self.frames, passes=epochs, summary=(
            f'darth: {epochs} epoch(s) of unsupervised DARTH steps on '
            f'{_span(self.frames)}'))
        return self._track(self._runner('track', load_from=ckpt), learned,
                           ckpt, seconds)

    def run_online(self, epochs) -> TrackingResult:
        runner = self._runner('track', load_from=self._source())
        result = self._track(runner, dict(frames=None, passes=1))
        adapted = result.learned_from.pop('adapted')
        frames = [f for f, a in zip(self.frames, adapted) if a]
        result.learned_from.update(frames=frames, summary=(
            f'online: a step on {len(frames)} of {len(self.frames)} frames'
            f' ({_span(frames)}), each after tracking it'))
        return result

    def _source(self) -> str:
        """The model's weights as the source checkpoint of a mode."""
        path = osp.join(self.work_dir, 'source.pth')
        if not osp.isfile(path):
            torch.save(dict(state_dict=self.model.state_dict()), path)
        return path

    def _train(self, mode: str):
        start = time.time()
        runner = self._runner(mode, load_from=self._source(), train=True)
        runner.train()
        ckpt = osp.join(runner.work_dir,
                        f'epoch_{runner.train_loop.max_epochs}.pth')
        return ckpt, dict(adapt=time.time() - start)

    def _runner(self, phase: str, model=None, load_from=None,
                train=False) -> Runner:
        cfg = copy.deepcopy(self.cfg)
        cfg.work_dir = osp.join(self.work_dir, phase)
        cfg.experiment_name = f'{phase}-{time.time_ns()}'
        cfg.load_from = load_from
        cfg.resume = False
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        if train:
            cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
        else:
            # the tracks are read by a hook: no metric, no annotation
            cfg.test_evaluator = []
            cfg.train_dataloader = cfg.train_cfg = None
            cfg.optim_wrapper = cfg.param_scheduler = None
        runner = build_runner(cfg) if model is None else \
            _runner_with_model(cfg, model)
        runner.model.to(self.device)
        runner.register_hook(ProgressBarHook(self.progress, phase), 'LOWEST')
        return runner

    def _track(self, runner: Runner, learned: dict, ckpt=None,
               seconds=None) -> TrackingResult:
        if load := runner.cfg.get('load_from'):
            check_checkpoint_fits(runner.model, load)
        collector = CollectTracks()
        runner.register_hook(collector, 'LOWEST')
        start = time.time()
        runner.test()
        seconds = dict(seconds or {}, track=time.time() - start)
        if learned['frames'] is None:
            learned['adapted'] = collector.adapted(len(self.frames))
        return TrackingResult(self.info['name'], self.adapt,
                              collector.tracks, self.info['images'],
                              learned, seconds, ckpt)


def _runner_with_model(cfg: Config, model: nn.Module) -> Runner:
    """``Runner.from_cfg`` with an already built (and loaded) model."""
    keys = ('work_dir', 'test_dataloader', 'test_cfg', 'test_evaluator',
            'default_hooks', 'custom_hooks', 'load_from', 'env_cfg',
            'log_processor', 'log_level', 'visualizer', 'default_scope',
            'randomness', 'experiment_name')
    kwargs = {k: cfg.get(k) for k in keys if cfg.get(k) is not None}
    release_visualizer(cfg)
    return Runner(model=model, cfg=unformatted(cfg), **kwargs)


def _span(frames: List[int]) -> str:
    """'frames 1-8', 'frames 1, 3, 4' or 'no frame'."""
    if not frames:
        return 'no frame'
    if frames == list(range(frames[0], frames[-1] + 1)) and len(frames) > 2:
        return f'frames {frames[0]}-{frames[-1]}'
    return 'frames ' + ', '.join(map(str, frames))
