"""One test frame as two inputs: to track it, then to adapt on it."""
import contextlib
import copy
import random
import zlib
from typing import Iterator, List, Optional

import numpy as np

from mmcv.transforms import BaseTransform, Compose

from mmdet.registry import TRANSFORMS

# keys of a test-mode item that carry labels: never given to ``adapt``
LABEL_KEYS = ('instances', )


@contextlib.contextmanager
def frame_rng(seed: int, key: str) -> Iterator[None]:
    """Seed numpy's and Python's global generators (which mmcv transforms
    draw from) from ``(seed, key)`` for a block, then restore them."""
    state = np.random.get_state(), random.getstate()
    value = int(np.random.SeedSequence(
        [seed, zlib.crc32(key.encode())]).generate_state(1)[0])
    np.random.seed(value)
    random.seed(value)
    try:
        yield
    finally:
        np.random.set_state(state[0])
        random.setstate(state[1])


class DeferredViews:
    """A test frame's label-free dict, whose adaptation views are made
    later (:meth:`TrackAndAdaptInputs.views`). Not a mapping on purpose:
    collate functions pass it through untouched."""

    def __init__(self, frame: dict) -> None:
        self.frame = frame

    def __repr__(self) -> str:
        return f'DeferredViews({self.frame.get("img_path")!r})'


@TRANSFORMS.register_module()
class TrackAndAdaptInputs(BaseTransform):
    """Make the tracking input and the adaptation views of one test frame.

    For online test-time adaptation (:class:`OnlineAdaptationTestLoop`):
    ``track`` is the usual test pipeline (it may load annotations, which
    only the evaluator reads); ``adapt`` makes the adaptation views (e.g.
    DARTH's ``MultiViewPipeline`` + ``PackMultiViewInputs``) from the image
    path and frame metadata alone: the annotations (``instances``) are
    removed before ``adapt`` runs, so adaptation cannot read a label.

    The input is one frame of a test-mode video dataset (``TrackImgSampler``:
    every value a list of one). The output is the ``track`` output with the
    packed adaptation input under ``adapt``.

    The random choices of ``adapt`` (crops, flips, photometric distortion)
    are seeded per frame from ``seed``, the video id and the frame index,
    so a frame gets the same views however the videos are split across
    processes or workers, wherever the data set lies, and whichever
    process makes them. ``seed=None`` (the default) is the run's seed
    (``randomness.seed``), which :class:`OnlineAdaptationTestLoop` sets
    before the first frame, so each seed of a sweep gets its own views.

    With ``defer=True`` (the default) the views are not made here: the
    item carries a :class:`DeferredViews` (the label-free frame dict) and
    the loop calls :meth:`views` only for the frames it adapts on. A skip
    rule then saves the view pipeline on every skipped frame, and a
    dataloader worker does no more than for plain tracking: on 2 CPU cores
    a worker busy on every frame takes the second torch thread's core,
    which cost more than the views themselves. With spare cores and
    adaptation on every frame, ``defer=False`` moves the views back into
    the workers.

    Args:
        track (list[dict]): The test pipeline.
        adapt (list[dict]): The adaptation pipeline, starting from the frame
            dict (``img_path``, ``frame_id``, ``video_id``, ...).
        seed (int, optional): Seed of the per-frame random views; None:
            the runner's seed, set by the loop (:meth:`set_seed`). Defaults
            to None.
        defer (bool): Leave the views to the loop. Defaults to True.
    """

    def __init__(self, track: List[dict], adapt: List[dict],
                 seed: Optional[int] = None, defer: bool = True) -> None:
        self.track = Compose(track)
        self.adapt = Compose(adapt)
        self.seed = seed
        self.run_seed: Optional[int] = None
        self.defer = defer

    def transform(self, results: dict) -> dict:
        lengths = {len(v) for v in results.values() if isinstance(v, list)}
        if lengths - {1}:
            raise ValueError('TrackAndAdaptInputs needs one frame per item '
                             '(sampler TrackImgSampler, test_mode=True), got '
                             f'lists of lengths {sorted(lengths)}')
        frame = DeferredViews({
            k: copy.deepcopy(v[0] if isinstance(v, list) else v)
            for k, v in results.items() if k not in LABEL_KEYS
        })
        adapt = frame if self.defer else self.views(frame)
        packed = self.track(results)
        packed['adapt'] = adapt
        return packed

    def set_seed(self, seed: int) -> None:
        """Use the run's ``seed`` unless the config gave its own."""
        if self.seed is None:
            self.run_seed = int(seed)

    def views(self, frame: 'DeferredViews') -> dict:
        """The packed adaptation views of a frame (seeded per frame).

        Raises:
            ValueError: When no seed was given nor set (:meth:`set_seed`).
        """
        seed = self.seed if self.seed is not None else self.run_seed
        if seed is None:
            raise ValueError(
                'TrackAndAdaptInputs: seed=None takes the run\'s seed, which '
                'OnlineAdaptationTestLoop sets; outside it give a seed')
        frame = frame.frame
        key = f'{frame.get("video_id")}/{frame.get("frame_id")}'
        with frame_rng(seed, key):
            adapt = self.adapt(copy.deepcopy(frame))
        if adapt is None:
            raise ValueError('the adapt pipeline rejected frame '
                             f'{frame.get("img_path")}')
        return adapt

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(track={self.track}, '
                f'adapt={self.adapt})')
