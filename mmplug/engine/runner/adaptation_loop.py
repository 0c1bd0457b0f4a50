"""Epoch-based adaptation that can start from target norm statistics."""
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.config import ConfigDict
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from mmdet.registry import LOOPS
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
      one pass over the unlabelled train frames (AdaBN, on the first view,
      DARTH's pseudo-label view P, over each image's own pixels and, with
      several processes, over all of their frames), frozen again and copied
      to the teacher; then adaptation proceeds as with ``'source'``. With
      ``bn_dataloader``, that pass reads its own loader instead (AdaBN's
      batch size and one-view pipeline), so the adaptation starts from
      exactly the AdaBN baseline's model.

    Args:
        runner, dataloader, max_epochs, val_begin, val_interval,
            dynamic_intervals: As ``EpochBasedTrainLoop``.
        bn_stats (str): ``'source'`` or ``'target'``. Defaults to
            ``'source'``.
        bn_modules (Sequence[str]): Defaults to ``('detector.backbone', )``.
        bn_dataloader (dict, optional): Changes to the train dataloader's
            config for the statistics pass, merged into it (so options
            that point the train split elsewhere apply to it too), e.g.
            ``dict(batch_size=8, dataset=dict(pipeline=...))``. Why: the
            pass averages per-batch variances, which miss the variance
            between the frames of a batch; DARTH's batch of 2 gives other
            (smaller) statistics than AdaBN's 8. Defaults to None: the
            train dataloader itself.
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
                 bn_dataloader: Optional[Dict] = None) -> None:
        if bn_stats not in BN_STATS:
            raise ValueError(f'bn_stats must be one of {BN_STATS}, got '
                             f'{bn_stats!r}')
        self._bn_loader_cfg = _merged_loader_cfg(dataloader, bn_dataloader)
        super().__init__(runner, dataloader, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        self.bn_stats = bn_stats
        self.bn_modules = check_modules(bn_modules)

    def run(self) -> torch.nn.Module:
        self.runner.call_hook('before_train')
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

    def _bn_loader(self):
        if self._bn_loader_cfg is None:
            return self.dataloader
        return self.runner.build_dataloader(  # copies the config
            self._bn_loader_cfg, seed=self.runner.seed)

    @torch.no_grad()
    def target_bn_stats(self) -> None:
        """AdaBN on the train frames; the teacher gets the same statistics."""
        model = self.runner.model
        model = model.module if is_model_wrapper(model) else model
        frames = reestimate_bn_stats(model, self._bn_loader(),
                                     self.bn_modules)
        prefixes = tuple(f'teacher_{m}.' for m in self.bn_modules)
        for name, teacher, student in teacher_student_tensors(model):
            if name.startswith(prefixes) and name.endswith(
                    ('running_mean', 'running_var')):
                teacher.copy_(student)
        self.runner.logger.info(
            f'bn_stats=target: norm statistics of {self.bn_modules} '
            f're-estimated on {frames} unlabelled frames before adaptation')


def _merged_loader_cfg(dataloader: Union[DataLoader, Dict],
                       changes: Optional[Dict]) -> Optional[Dict]:
    """The train dataloader's config with ``changes`` (``bn_dataloader``)
    merged in (None when there are none)."""
    if changes is None:
        return None
    if not isinstance(changes, dict) or not isinstance(dataloader, dict):
        raise TypeError(
            'train_cfg.bn_dataloader must be a dict of changes to the '
            'train_dataloader config (which must be a dict too), got '
            f'{type(changes).__name__} for a {type(dataloader).__name__} '
            'train_dataloader')
    # ConfigDict.merge copies both and honours `_delete_`
    cfg = ConfigDict(dataloader)
    cfg.merge(changes)
    return cfg
