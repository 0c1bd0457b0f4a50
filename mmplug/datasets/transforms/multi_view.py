"""Several views of one frame, made in the data pipeline (for DARTH)."""
import copy
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, Compose, to_tensor

from mmdet.datasets.transforms import PackTrackInputs
from mmdet.registry import TRANSFORMS


class ViewRejectedError(ValueError):
    """A transform of a view returned None; names the transform and frame."""


@TRANSFORMS.register_module()
class MultiViewPipeline(BaseTransform):
    """Make named views of one loaded frame, each by its own transforms.

    A view starts from a copy of another view's result (``source``), or of
    the input for ``source=None``, so that DARTH's views chain as
    ``P = resize(frame)``, ``T = geometric(frame)``, ``S = photometric(T)``
    (the same geometry as T) and ``C = geometric'(frame) + photometric'``,
    each made from the loaded frame (one resize each). Then ``post`` runs
    on every view (none in DARTH's configs).

    Each view records ``view`` (its name) and ``view_homography``: the 3 x 3
    matrix from the first view's pixel coordinates (DARTH's P, on which the
    teacher's pseudo boxes lie) to its own, from the ``homography_matrix``
    that mmdet's geometric transforms accumulate.

    The output has the list-per-key layout of ``TransformBroadcaster``, one
    entry per view in ``views`` order. Views of different sizes are packed
    by :class:`PackMultiViewInputs` and padded by the data preprocessor
    after normalisation (:class:`MultiViewDataPreprocessor`, as DARTH and
    mmdet pad); views of one size may also go to ``PackTrackInputs``, both
    with ``meta_keys=('view', 'view_homography')``.

    Args:
        views (dict): ``{name: dict(source=None | name, transforms=[...])}``,
            in the order of the output; a source must come before its users.
        post (list[dict]): Transforms run on every view after all views are
            made. Defaults to none.

    Raises:
        ViewRejectedError: When a transform returns None (rejects the
            frame), naming the view, the transform and the image.
    """

    def __init__(self, views: Dict[str, dict],
                 post: Optional[List[dict]] = None) -> None:
        if not views:
            raise ValueError('views must name at least one view')
        self.names: List[str] = list(views)
        self.sources: Dict[str, Optional[str]] = {}
        self.pipelines: Dict[str, Compose] = {}
        for i, (name, spec) in enumerate(views.items()):
            unknown = set(spec) - {'source', 'transforms'}
            if unknown:
                raise ValueError(f'view {name!r}: unknown keys '
                                 f'{sorted(unknown)}; use source / transforms')
            source = spec.get('source')
            if source is not None and source not in self.names[:i]:
                raise ValueError(f'view {name!r}: source {source!r} must be '
                                 f'an earlier view of {self.names[:i]}')
            self.sources[name] = source
            self.pipelines[name] = Compose(spec.get('transforms', []))
        self.post = Compose(post or [])

    def transform(self, results: dict) -> dict:
        outs: Dict[str, dict] = {}
        for name in self.names:
            source = self.sources[name]
            start = results if source is None else outs[source]
            out = _run(self.pipelines[name], copy.deepcopy(start), name)
            out['view'] = name
            outs[name] = out
        outs = {name: _run(self.post, out, f'{name} (post)')
                for name, out in outs.items()}
        ref_inv = np.linalg.inv(_homography(outs[self.names[0]]))
        for out in outs.values():
            out['view_homography'] = (_homography(out) @ ref_inv).astype(
                np.float32)
        return _to_lists([outs[n] for n in self.names])

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(views={self.names})'


def _run(pipeline: Compose, results: dict, view: str) -> dict:
    """Run ``pipeline`` transform by transform, naming the one that rejects
    the frame (``Compose`` would return None without saying which)."""
    for transform in pipeline.transforms:
        out = transform(results)
        if out is None:
            raise ViewRejectedError(
                f'MultiViewPipeline view {view!r}: {transform!r} rejected '
                f'frame {results.get("img_path", "<no img_path>")}')
        results = out
    return results


def _homography(results: dict) -> np.ndarray:
    matrix = results.get('homography_matrix')
    return np.eye(3) if matrix is None else np.asarray(matrix, np.float64)


def _to_lists(outs: Sequence[dict]) -> dict:
    """[{k: v}, ...] -> {k: [v, ...]} over the keys all views have."""
    keys = set(outs[0])
    for out in outs[1:]:
        keys &= set(out)
    return {k: [out[k] for out in outs] for k in keys}


@TRANSFORMS.register_module()
class PackMultiViewInputs(PackTrackInputs):
    """``PackTrackInputs`` for the views of :class:`MultiViewPipeline`, which
    may differ in size: ``inputs`` is ``{view name: (C, H, W) tensor}`` (a
    dict, so that ``pseudo_collate`` keeps one list of N images per view)
    and the data samples are ``PackTrackInputs``'s, one per view. Nothing
    is padded here: :class:`MultiViewDataPreprocessor` pads each view's
    batch after normalisation.

    Args:
        meta_keys, default_meta_keys: As ``PackTrackInputs``.
    """

    def transform(self, results: dict) -> dict:
        if 'view' not in results or 'img' not in results:
            raise KeyError('PackMultiViewInputs packs the output of '
                           'MultiViewPipeline (keys img and view), got keys '
                           f'{sorted(results)}')
        imgs = results.pop('img')
        try:
            packed = super().transform(results)
        finally:
            results['img'] = imgs
        packed['inputs'] = {
            name: to_tensor(np.ascontiguousarray(img.transpose(2, 0, 1)))
            for name, img in zip(results['view'], imgs)
        }
        return packed
