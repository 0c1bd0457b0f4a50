"""Hooks of :func:`mmplug.apis.track_video`: the tracks of every frame,
and a progress bar. Added to a runner with ``runner.register_hook`` (not
registered: they hold state for one call)."""
import time
from typing import List

from mmengine.hooks import Hook

from .footage import FrameTracks


class CollectTracks(Hook):
    """The tracks of every frame, and (online) whether it was adapted on:
    ``OnlineAdaptationTestLoop.counts['adapted']`` grows after a frame is
    tracked, so it is read before each frame and at the end."""

    def __init__(self) -> None:
        self.tracks: List[FrameTracks] = []
        self._counts: List[int] = []

    def before_test_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._counts.append(self._adapted(runner))

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        for sample in outputs:
            for frame in sample.video_data_samples:
                self.tracks.append(FrameTracks.from_sample(
                    frame.frame_id + 1, frame.pred_track_instances))

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._counts.append(self._adapted(runner))

    @staticmethod
    def _adapted(runner) -> int:
        return getattr(runner.test_loop, 'counts', {}).get('adapted', 0)

    def adapted(self, n: int) -> List[bool]:
        return [b > a for a, b in zip(self._counts[:n], self._counts[1:])]


class ProgressBarHook(Hook):
    """A progress bar per phase: done / total, items/s, elapsed, ETA."""

    def __init__(self, enabled: bool, phase: str) -> None:
        self.enabled, self.phase = enabled, phase
        self.total = self.done = 0
        self.unit, self.start = '', 0.0

    def _begin(self, total: int, unit: str) -> None:
        self.total, self.done, self.unit = total, 0, unit
        self.start = time.time()
        self._print()

    def _step(self) -> None:
        self.done += 1
        self._print()

    def _print(self) -> None:
        if not self.enabled:
            return
        elapsed = time.time() - self.start
        rate = self.done / elapsed if elapsed > 0 and self.done else 0.0
        eta = f'{(self.total - self.done) / rate:.0f} s' if rate else '?'
        end = '\n' if self.done >= self.total else ''
        print(f'\r[{self.phase}] {self.done}/{self.total} {self.unit}, '
              f'{rate:.2f} {self.unit}/s, elapsed {elapsed:.0f} s, ETA '
              f'{eta}', end=end, flush=True)

    def before_train(self, runner) -> None:
        self._begin(runner.train_loop.max_iters, 'iterations')

    def before_test(self, runner) -> None:
        self._begin(len(runner.test_loop.dataloader), 'frames')

    def after_train_iter(self, runner, *args, **kwargs) -> None:
        self._step()

    def after_test_iter(self, runner, *args, **kwargs) -> None:
        self._step()
