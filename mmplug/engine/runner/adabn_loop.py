"""AdaBN as a train loop: BatchNorm statistics from unlabelled target data."""
from typing import Dict, Iterable, List, Sequence, Tuple, Union

import torch
from mmengine.dist import all_reduce
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


def view_batch(data: dict) -> Tuple[Tensor, List[tuple]]:
    """(N, V, C, H, W) preprocessed inputs -> the (N, C, h, w) batch of the
    first view (DARTH's pseudo-label view P, or AdaBN's only one), cropped
    to that view's own ``batch_input_shape`` when the data preprocessor
    padded views apart (:class:`MultiViewDataPreprocessor`), and each
    image's ``img_shape`` (its own pixels, without padding)."""
    samples = [s.video_data_samples[0] for s in data['data_samples']]
    inputs = data['inputs'][:, 0]
    h, w = samples[0].metainfo.get('batch_input_shape', inputs.shape[-2:])
    shapes = [s.metainfo['img_shape'][:2] for s in samples]
    return inputs[..., :h, :w].contiguous(), shapes


@torch.no_grad()
def reestimate_bn_stats(model: nn.Module, batches: Iterable[dict],
                        modules: Sequence[str]) -> int:
    """AdaBN: the norm statistics in ``modules`` of a tracker (``model.
    detector`` / ``model.data_preprocessor``) from ``batches`` of raw
    dataloader items, one pass, no gradient, over each image's own pixels
    (:func:`estimate_bn_stats`; with ``torch.distributed``, summed over
    the processes' batches); returns the number of frames (of every
    process).
    """
    frames = 0
    model.eval()
    with estimate_bn_stats(model, modules) as extents:
        for batch in batches:
            data = model.data_preprocessor(batch, False)
            images, shapes = view_batch(data)
            extents.set(shapes, images.shape[-2:])
            model.detector.extract_feat(images)
            frames += len(images)
    total = torch.tensor([frames], dtype=torch.float64)
    all_reduce(total, op='sum')
    return int(total.item())


@LOOPS.register_module()
class AdaBNLoop(EpochBasedTrainLoop):
    """AdaBN (Li et al., 2016) as an mmengine train loop.

    One pass over ``train_dataloader`` (the unlabelled target frames, one
    view each), no gradient, no label: the statistics of the BatchNorm or
    FrozenBN layers inside ``modules`` are re-estimated over each image's
    own pixels (:func:`estimate_bn_stats`; with several processes, over all
    of their frames, so every process gets the same statistics), frozen,
    and ``CheckpointHook`` saves ``epoch_1.pth``, which the test command
    evaluates like any checkpoint. The optimiser of the config is never
    stepped.

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
        # one epoch; validation (if any) is left to the test command
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
