"""AdaBN as a train loop: BatchNorm statistics from unlabelled target data."""
from typing import Dict, Iterable, Sequence, Union

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch import Tensor, nn
from torch.utils.data import DataLoader

from mmdet.registry import LOOPS
from mmplug.models.utils.bn_stats import estimate_bn_stats


def check_modules(modules: Sequence[str]) -> tuple:
    if isinstance(modules, str) or not modules:
        raise ValueError('modules must be a non-empty list of module names, '
                         f'got {modules!r}')
    return tuple(modules)


def reference_images(data: dict) -> Tensor:
    """(N, V, C, H, W) preprocessed inputs -> (N, C, h, w) of the first view
    (DARTH's pseudo-label view P, or AdaBN's only one), cropped to the
    largest image of the batch (without padding, which would enter the
    statistics)."""
    inputs = data['inputs'][:, 0]
    shapes = [s.video_data_samples[0].metainfo['img_shape']
              for s in data['data_samples']]
    h = max(s[0] for s in shapes)
    w = max(s[1] for s in shapes)
    return inputs[..., :h, :w].contiguous()


@torch.no_grad()
def reestimate_bn_stats(model: nn.Module, batches: Iterable[dict],
                        modules: Sequence[str]) -> int:
    """AdaBN: the norm statistics in ``modules`` of a tracker (``model.
    detector`` / ``model.data_preprocessor``) from ``batches`` of raw
    dataloader items, one pass, no gradient; returns the number of frames.
    """
    frames = 0
    model.eval()
    with estimate_bn_stats(model, modules):
        for batch in batches:
            data = model.data_preprocessor(batch, False)
            images = reference_images(data)
            model.detector.extract_feat(images)
            frames += len(images)
    return frames


@LOOPS.register_module()
class AdaBNLoop(EpochBasedTrainLoop):
    """AdaBN (Li et al., 2016) as an mmengine train loop.

    One pass over ``train_dataloader`` (the unlabelled target frames, one
    view each), no gradient, no label: the statistics of the BatchNorm or
    FrozenBN layers inside ``modules`` are re-estimated
    (:func:`estimate_bn_stats`), frozen, and ``CheckpointHook`` saves
    ``epoch_1.pth``, which ``tools/test.py`` evaluates like any checkpoint.
    The optimiser of the config is never stepped.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Unlabelled target frames.
        modules (Sequence[str]): Sub-modules whose norm statistics are
            re-estimated. Defaults to ``('detector.backbone', )``.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 modules: Sequence[str] = ('detector.backbone', )) -> None:
        # one epoch; validation (if any) is left to tools/test.py
        super().__init__(runner, dataloader, max_epochs=1, val_begin=2)
        self.modules = check_modules(modules)

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        model = self.runner.model
        model = model.module if is_model_wrapper(model) else model
        frames = reestimate_bn_stats(model, self._batches(), self.modules)
        self.runner.logger.info(f'AdaBN: norm statistics of {self.modules} '
                                f're-estimated on {frames} frames')
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _batches(self) -> Iterable[dict]:
        for idx, data_batch in enumerate(self.dataloader):
            self.runner.call_hook(
                'before_train_iter', batch_idx=idx, data_batch=data_batch)
            yield data_batch
            self.runner.call_hook(
                'after_train_iter', batch_idx=idx, data_batch=data_batch,
                outputs=dict())
            self._iter += 1
