"""Epoch-based adaptation that can start from target norm statistics."""
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.config import ConfigDict
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from mmdet.registry import LOOPS
from mmplug.models.losses.feature_alignment import (channel_moments,
                                                    valid_masks)
from mmplug.models.mot.teacher_qdtrack import teacher_student_tensors
from .adabn_loop import check_modules, reestimate_bn_stats

BN_STATS = ('source', 'target')


@LOOPS.register_module()
class AdaptationTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` for test-time adaptation, choosing the frozen
    norm statistics that the adaptation starts from.

    - ``bn_stats='source'``: as DARTH, the source model's statistics stay
      frozen throughout.
    - ``bn_stats='target'``: before the first step (not when resuming), the
      statistics of the norm layers in ``bn_modules`` are re-estimated on
      one pass over the unlabelled train frames (AdaBN, on view
      ``bn_view``, over each image's own pixels and, with several
      processes, over all of their frames), frozen again and copied to the
      teacher; then adaptation proceeds as with ``'source'``. With
      ``bn_dataloader``, that pass reads its own loader instead (AdaBN's
      batch size and one-view pipeline), so the adaptation starts from
      exactly the AdaBN baseline's model.

    With ``bn_stats_end=True``, after the last epoch and before its
    checkpoint is saved, the same pass re-estimates the statistics of the
    student and of the teacher, each through its own adapted weights (the
    frozen statistics were estimated for the weights of the start, as
    SWA's ``update_bn`` re-estimates them for averaged weights). Not in
    DARTH.

    When the model has a ``loss_feat_align`` (:class:`FeatureStatsAlignLoss`,
    not in DARTH), its source statistics are computed before the first step
    (before the ``bn_stats='target'`` pass, so with the source model's own
    statistics) on ``source_stats_dataloader``: the source model's FPN
    feature moments on labelled-source frames (no label read), averaged
    over batches of the adaptation's batch size, as the loss measures them.
    They are a function of the source model and its training data only,
    i.e. what a source model would ship with; they are saved in the
    checkpoint, so a resumed run keeps them.

    Args:
        runner, dataloader, max_epochs, val_begin, val_interval,
            dynamic_intervals: As ``EpochBasedTrainLoop``.
        bn_stats (str): ``'source'`` or ``'target'``. Defaults to
            ``'source'``.
        bn_modules (Sequence[str]): Defaults to ``('detector.backbone', )``.
        bn_view (int): Index of the view whose images give the statistics
            (DARTH's pseudo-label view P is 0). Defaults to 0.
        bn_dataloader (dict, optional): Changes to the train dataloader's
            config for the statistics pass, merged into it (so options
            that point the train split elsewhere apply to it too), e.g.
            ``dict(batch_size=8, dataset=dict(pipeline=...))``. Why: the
            pass averages per-batch variances, which miss the variance
            between the frames of a batch; DARTH's batch of 2 gives other
            (smaller) statistics than AdaBN's 8. Defaults to None: the
            train dataloader itself.
        bn_stats_end (bool): Re-estimate the statistics of student and
            teacher after the last epoch (with either ``bn_stats``).
            Defaults to False.
        source_stats_dataloader (dict, optional): Changes to the train
            dataloader's config (merged as ``bn_dataloader``) that point it
            at the source frames, e.g. ``dict(dataset=dict(data_root=
            'data/synth/none/', pipeline=...))``. Needed exactly when the
            model has a ``loss_feat_align``. Defaults to None.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 val_begin: int = 1,
                 val_interval: int = 1,
                 dynamic_intervals=None,
                 bn_stats: str = 'source',
                 bn_modules: Sequence[str] = ('detector.backbone', ),
                 bn_view: int = 0,
                 bn_dataloader: Optional[Dict] = None,
                 bn_stats_end: bool = False,
                 source_stats_dataloader: Optional[Dict] = None) -> None:
        if bn_stats not in BN_STATS:
            raise ValueError(f'bn_stats must be one of {BN_STATS}, got '
                             f'{bn_stats!r}')
        self._bn_loader_cfg = _merged_loader_cfg(dataloader, bn_dataloader,
                                                 'bn_dataloader')
        self._source_loader_cfg = _merged_loader_cfg(
            dataloader, source_stats_dataloader, 'source_stats_dataloader')
        super().__init__(runner, dataloader, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        self.bn_stats = bn_stats
        self.bn_modules = check_modules(bn_modules)
        self.bn_view = bn_view
        self.bn_stats_end = bool(bn_stats_end)

    def run(self) -> torch.nn.Module:
        self.runner.call_hook('before_train')
        align = getattr(self._model(), 'loss_feat_align', None)
        if (align is None) != (self._source_loader_cfg is None):
            raise ValueError(
                'train_cfg.source_stats_dataloader is needed exactly when the '
                'model has a loss_feat_align (got '
                f'loss_feat_align={type(align).__name__ if align else None}, '
                'source_stats_dataloader='
                f'{"set" if self._source_loader_cfg else None})')
        if align is not None and self._iter == 0:
            self.source_feature_stats(align)
        if self.bn_stats == 'target' and self._iter == 0:
            self.target_bn_stats()
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None
                    and self._epoch >= self.val_begin
                    and (self._epoch % self.val_interval == 0
                         or self._epoch == self._max_epochs)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        """``EpochBasedTrainLoop.run_epoch``, with the end-of-adaptation
        statistics pass (``bn_stats_end``) between the last iteration and
        ``after_train_epoch``, where ``CheckpointHook`` saves the model
        (the rest is mmengine 0.10.7's body: it has no call in between)."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        if self.bn_stats_end and self._epoch + 1 == self._max_epochs:
            self.end_bn_stats()
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _model(self) -> torch.nn.Module:
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def _bn_loader(self):
        if self._bn_loader_cfg is None:
            return self.dataloader
        return self.runner.build_dataloader(  # copies the config
            self._bn_loader_cfg, seed=self.runner.seed)

    @torch.no_grad()
    def source_feature_stats(self, loss: torch.nn.Module) -> None:
        """The student's FPN feature moments on the source frames, averaged
        over batches, into ``loss`` (:class:`FeatureStatsAlignLoss`)."""
        model = self._model()
        model.eval()
        loader = self.runner.build_dataloader(self._source_loader_cfg,
                                              seed=self.runner.seed)
        means, variances, frames = [], [], 0
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            images = data['inputs'][:, 0]
            shapes = [s.video_data_samples[0].metainfo['img_shape']
                      for s in data['data_samples']]
            feats = model.detector.extract_feat(images)
            masks = valid_masks(feats, shapes, images.shape[-2:])
            moments = [channel_moments(f.double(), m)
                       for f, m in zip(feats, masks)]
            means.append(torch.stack([m for m, _ in moments]))
            variances.append(torch.stack([v for _, v in moments]))
            frames += len(images)
        if not frames:
            raise ValueError('train_cfg.source_stats_dataloader gave no frame')
        loss.set_source(torch.stack(means).mean(0).float(),
                        torch.stack(variances).mean(0).float(), frames)
        self.runner.logger.info(
            f'loss_feat_align: source FPN statistics from {frames} frames')

    @torch.no_grad()
    def end_bn_stats(self) -> None:
        """The statistics pass for the adapted student, then for the
        teacher through its own (EMA) weights."""
        model, loader = self._model(), self._bn_loader()
        frames = reestimate_bn_stats(model, loader, self.bn_modules,
                                     self.bn_view)
        if hasattr(model, 'teacher_as_student'):
            with model.teacher_as_student():
                reestimate_bn_stats(model, loader, self.bn_modules,
                                    self.bn_view)
        self.runner.logger.info(
            f'bn_stats_end: norm statistics of {self.bn_modules} of the '
            f'adapted student and teacher re-estimated on {frames} '
            'unlabelled frames')

    @torch.no_grad()
    def target_bn_stats(self) -> None:
        """AdaBN on the train frames; the teacher gets the same statistics."""
        model = self._model()
        frames = reestimate_bn_stats(model, self._bn_loader(),
                                     self.bn_modules, self.bn_view)
        prefixes = tuple(f'teacher_{m}.' for m in self.bn_modules)
        for name, teacher, student in teacher_student_tensors(model):
            if name.startswith(prefixes) and name.endswith(
                    ('running_mean', 'running_var')):
                teacher.copy_(student)
        self.runner.logger.info(
            f'bn_stats=target: norm statistics of {self.bn_modules} '
            f're-estimated on {frames} unlabelled frames before adaptation')


def _merged_loader_cfg(dataloader: Union[DataLoader, Dict],
                       changes: Optional[Dict], key: str) -> Optional[Dict]:
    """The train dataloader's config with ``changes`` merged in (None when
    there are none)."""
    if changes is None:
        return None
    if not isinstance(changes, dict) or not isinstance(dataloader, dict):
        raise TypeError(
            f'train_cfg.{key} must be a dict of changes to the '
            'train_dataloader config (which must be a dict too), got '
            f'{type(changes).__name__} for a {type(dataloader).__name__} '
            'train_dataloader')
    # ConfigDict.merge copies both and honours `_delete_`
    cfg = ConfigDict(dataloader)
    cfg.merge(changes)
    return cfg
