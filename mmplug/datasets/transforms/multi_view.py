"""Several views of one frame, made in the data pipeline (for DARTH)."""
import copy
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class MultiViewPipeline(BaseTransform):
    """Make named views of one loaded frame, each by its own transforms.

    A view starts from a copy of another view's result (``source``), or of
    the input for ``source=None``, so that DARTH's views chain as
    ``P = resize(frame)``, ``T = geometric(P)``, ``S = photometric(T)`` (the
    same geometry as T) and ``C = geometric'(P) + photometric'``. Each view
    records ``view`` (its name) and ``view_homography``: the 3 x 3 matrix
    from the reference view's pixel coordinates to its own, from the
    ``homography_matrix`` that mmdet's geometric transforms accumulate.

    The output has the list-per-key layout of ``TransformBroadcaster``, one
    entry per view in ``views`` order, ready for ``PackTrackInputs`` with
    ``meta_keys=('view', 'view_homography')``. All views must end with the
    same image shape (e.g. a final ``Pad(size=...)``).

    Args:
        views (dict): ``{name: dict(source=None | name, transforms=[...])}``,
            in the order of the output; a source must come before its users.
        reference (str): The view whose coordinates homographies start from.
            Defaults to the first view.
    """

    def __init__(self, views: Dict[str, dict],
                 reference: Optional[str] = None) -> None:
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
        self.reference = reference or self.names[0]
        if self.reference not in self.names:
            raise ValueError(f'reference {self.reference!r} is not a view of '
                             f'{self.names}')

    def transform(self, results: dict) -> Optional[dict]:
        outs: Dict[str, dict] = {}
        for name in self.names:
            source = self.sources[name]
            start = results if source is None else outs[source]
            out = self.pipelines[name](copy.deepcopy(start))
            if out is None:
                return None  # a transform rejected the sample
            out['view'] = name
            outs[name] = out
        ref_inv = np.linalg.inv(_homography(outs[self.reference]))
        for out in outs.values():
            out['view_homography'] = (_homography(out) @ ref_inv).astype(
                np.float32)
        return _to_lists([outs[n] for n in self.names])

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.names}, '
                f'reference={self.reference!r})')


def _homography(results: dict) -> np.ndarray:
    matrix = results.get('homography_matrix')
    return np.eye(3) if matrix is None else np.asarray(matrix, np.float64)


def _to_lists(outs: Sequence[dict]) -> dict:
    """[{k: v}, ...] -> {k: [v, ...]} over the keys all views have."""
    keys = set(outs[0])
    for out in outs[1:]:
        keys &= set(out)
    return {k: [out[k] for out in outs] for k in keys}
