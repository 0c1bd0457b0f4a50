"""Synthetic multi-object tracking videos with a controllable domain shift.

Each video shows textured objects on a textured background that move, occlude
each other by depth order, enter and leave the frame. The scene (background,
objects, trajectories) depends only on ``(seed, video index)``; a corruption
is one of the ImageNet-C corruptions (:mod:`mmplug.datasets.corruptions`)
applied afterwards, so the same seed under two corruptions gives the same
videos under a different look (a pure appearance shift, as in DARTH's
domain-shift setting).

Written in the MOTChallenge layout::

    OUT/<seq>/img1/000001.jpg
    OUT/<seq>/gt/gt.txt        frame,id,x,y,w,h,conf,class,visibility
    OUT/<seq>/seqinfo.ini
"""
import configparser
import os
import os.path as osp
import shutil
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

from mmplug.utils.io import make_temp_dir
from .corruptions import CORRUPTIONS as IMAGENET_C
from .corruptions import check_corruption, corrupt_frame

# 'none' (clean) or one of the 19 ImageNet-C corruptions
CORRUPTIONS = ('none', ) + IMAGENET_C
# Class ids follow the MOTChallenge convention (1 = pedestrian), so that
# configs written for MOT17 and the synthetic set share their metainfo.
CLASS_NAMES = ('pedestrian', 'car')
# Objects less visible than this are written with conf 0 (ignored, as
# MOTChallenge does for unreliable boxes).
MIN_VISIBILITY = 0.2


@dataclass
class _Track:
    """One synthetic object: appearance, depth and trajectory."""
    cls: int
    w: float
    h: float
    depth: float
    start: int
    x0: float
    y0: float
    vx: float
    vy: float
    texture: np.ndarray  # (h, w, 3) uint8 patch
    mask: np.ndarray  # (h, w) bool shape mask

    def box(self, t: int) -> Tuple[float, float, float, float]:
        dt = t - self.start
        return (self.x0 + self.vx * dt, self.y0 + self.vy * dt, self.w,
                self.h)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int,
                  channels: int = 3) -> np.ndarray:
    """Low-frequency colour noise in [0, 1], shape (size, size, channels)."""
    coarse = rng.random((cells, cells, channels)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC
                      ).clip(0, 1).reshape(size, size, channels)


def _texture(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A two-colour stripe or checker pattern, (h, w, 3) uint8."""
    c1 = rng.integers(0, 256, 3)
    c2 = 255 - c1 + rng.integers(-40, 41, 3)
    period = int(rng.integers(4, 9))
    yy, xx = np.mgrid[0:h, 0:w]
    kind = rng.integers(0, 3)
    if kind == 0:
        pattern = (xx // period) % 2
    elif kind == 1:
        pattern = (yy // period) % 2
    else:
        pattern = ((xx // period) + (yy // period)) % 2
    img = np.where(pattern[..., None] == 1, c1, c2)
    return np.clip(img, 0, 255).astype(np.uint8)


def _shape_mask(cls: int, w: int, h: int) -> np.ndarray:
    """Ellipse for class 1 (pedestrian-like), rectangle for class 2."""
    if cls == 2:
        return np.ones((h, w), dtype=bool)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    return ((yy - cy) / (h / 2))**2 + ((xx - cx) / (w / 2))**2 <= 1.0


def _new_track(rng: np.random.Generator, size: int, start: int,
               num_classes: int, enter: bool) -> _Track:
    cls = int(rng.integers(1, num_classes + 1))
    if cls == 1:  # tall
        h = rng.uniform(0.16, 0.32) * size
        w = h * rng.uniform(0.4, 0.7)
    else:  # wide
        w = rng.uniform(0.16, 0.3) * size
        h = w * rng.uniform(0.45, 0.7)
    speed = rng.uniform(0.004, 0.015) * size
    angle = rng.uniform(0, 2 * np.pi)
    vx, vy = speed * np.cos(angle), speed * np.sin(angle)
    if enter:  # start just outside the border the object moves away from
        x0 = -w + 1 if vx > 0 else size - 1
        y0 = rng.uniform(0, size - h)
        if abs(vy) > abs(vx):
            x0 = rng.uniform(0, size - w)
            y0 = -h + 1 if vy > 0 else size - 1
    else:
        x0, y0 = rng.uniform(0, size - w), rng.uniform(0, size - h)
    wi, hi = int(round(w)), int(round(h))
    return _Track(cls, float(wi), float(hi), float(rng.random()), start,
                  float(x0), float(y0), float(vx), float(vy),
                  _texture(rng, wi, hi), _shape_mask(cls, wi, hi))


def _inside(track: _Track, t: int, size: int) -> bool:
    x, y, w, h = track.box(t)
    return x + w > 1 and y + h > 1 and x < size - 1 and y < size - 1


def _render_frame(background: np.ndarray, tracks: List[Tuple[int, _Track]],
                  t: int, size: int) -> Tuple[np.ndarray, List[list]]:
    """Paint tracks far to near; return the frame and its gt rows."""
    img = background.copy()
    owner = np.full((size, size), -1, dtype=np.int64)
    placed = []
    for tid, tr in sorted(tracks, key=lambda it: -it[1].depth):
        x, y, w, h = tr.box(t)
        xi, yi = int(round(x)), int(round(y))
        x1, y1 = max(xi, 0), max(yi, 0)
        x2, y2 = min(xi + int(w), size), min(yi + int(h), size)
        if x2 <= x1 or y2 <= y1:
            continue
        sub = tr.mask[y1 - yi:y2 - yi, x1 - xi:x2 - xi]
        img[y1:y2, x1:x2][sub] = tr.texture[y1 - yi:y2 - yi,
                                            x1 - xi:x2 - xi][sub]
        owner[y1:y2, x1:x2][sub] = tid
        placed.append((tid, tr, xi, yi))
    rows = []
    for tid, tr, xi, yi in placed:
        total = int(tr.mask.sum())
        visible = int((owner == tid).sum())
        vis = visible / max(total, 1)
        conf = 1 if vis >= MIN_VISIBILITY else 0
        rows.append([t + 1, tid, xi, yi, int(tr.w), int(tr.h), conf, tr.cls,
                     round(vis, 4)])
    return img, rows


def render_video(seed: int, video: int, num_frames: int, size: int,
                 num_classes: int = 1, max_objects: int = 6
                 ) -> Tuple[List[np.ndarray], List[list]]:
    """Render one clean video.

    Args:
        seed (int): Data set seed.
        video (int): Video index; with ``seed`` it fixes the scene.
        num_frames (int): Number of frames.
        size (int): Frame width and height in pixels.
        num_classes (int): 1 (all pedestrian-like) or 2 (adds cars).
        max_objects (int): Upper bound of objects on screen at once.

    Returns:
        tuple: frames as (size, size, 3) uint8 BGR arrays, and the MOT gt rows
        ``[frame, id, x, y, w, h, conf, class, visibility]``.
    """
    rng = np.random.default_rng([seed, video, 0])
    background = (_smooth_noise(rng, size, 5) * 150 + 50).astype(np.float32)
    background += rng.normal(0, 6, background.shape).astype(np.float32)
    background = background.clip(0, 255).astype(np.uint8)
    alive: Dict[int, _Track] = {}
    next_id = 1
    for _ in range(int(rng.integers(2, max_objects))):
        alive[next_id] = _new_track(rng, size, 0, num_classes, enter=False)
        next_id += 1
    frames, gt = [], []
    for t in range(num_frames):
        alive = {k: v for k, v in alive.items() if _inside(v, t, size)}
        spawn = len(alive) < 2 or (len(alive) < max_objects
                                   and rng.random() < 0.06)
        if spawn:
            alive[next_id] = _new_track(rng, size, t, num_classes, enter=True)
            next_id += 1
        img, rows = _render_frame(background, list(alive.items()), t, size)
        frames.append(img)
        gt.extend(rows)
    return frames, gt


def write_sequence(seq_dir: str, frames: List[np.ndarray], gt: List[list],
                   fps: int = 10) -> None:
    """Write one sequence in the MOTChallenge layout.

    Args:
        seq_dir (str): ``OUT/<seq>``; its name becomes the sequence name.
        frames (list[np.ndarray]): (H, W, 3) uint8 BGR frames.
        gt (list[list]): Rows ``[frame, id, x, y, w, h, conf, class, vis]``.
        fps (int): Frame rate written to seqinfo.ini.
    """
    os.makedirs(osp.join(seq_dir, 'img1'))
    os.makedirs(osp.join(seq_dir, 'gt'))
    for i, frame in enumerate(frames):
        path = osp.join(seq_dir, 'img1', f'{i + 1:06d}.jpg')
        if not cv2.imwrite(path, frame, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise OSError(f'could not write image {path}')
    with open(osp.join(seq_dir, 'gt', 'gt.txt'), 'w') as f:
        for row in gt:
            f.write(','.join(str(v) for v in row) + '\n')
    info = configparser.ConfigParser()
    info.optionxform = str
    h, w = frames[0].shape[:2]
    info['Sequence'] = dict(
        name=osp.basename(seq_dir), imDir='img1', frameRate=str(fps),
        seqLength=str(len(frames)), imWidth=str(w), imHeight=str(h),
        imExt='.jpg')
    with open(osp.join(seq_dir, 'seqinfo.ini'), 'w') as f:
        info.write(f, space_around_delimiters=False)


def make_synthetic_mot(out: str,
                       num_videos: int,
                       frames: int,
                       size: int,
                       corruption: str = 'none',
                       severity: int = 3,
                       seed: int = 0,
                       num_classes: int = 1,
                       progress: Optional[Callable[[int, int], None]] = None
                       ) -> List[str]:
    """Write ``num_videos`` synthetic sequences under ``out``.

    The folder is built under a temporary name next to ``out`` and renamed at
    the end, so an interrupted run never leaves a half-written data set.

    Returns:
        list[str]: The sequence names, ``synth-s<seed>-v<index>``.
    """
    _check_args(num_videos, frames, size, corruption, severity, num_classes)
    if osp.exists(out) and os.listdir(out):
        raise FileExistsError(f'output folder {out} exists and is not empty')
    parent = osp.dirname(osp.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = make_temp_dir(parent, '.tmp-synth-')
    names = []
    try:
        for v in range(num_videos):
            clean, gt = render_video(seed, v, frames, size, num_classes)
            name = f'synth-s{seed}-v{v:03d}'
            imgs = clean if corruption == 'none' else [
                corrupt_frame(img, corruption, severity, seed, name, t)
                for t, img in enumerate(clean)
            ]
            write_sequence(osp.join(tmp, name), imgs, gt)
            names.append(name)
            if progress is not None:
                progress(v + 1, num_videos)
        if osp.exists(out):
            os.rmdir(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return names


def _check_args(num_videos, frames, size, corruption, severity,
                num_classes) -> None:
    if num_videos < 1:
        raise ValueError(f'num_videos must be >= 1, got {num_videos}')
    if frames < 2:
        raise ValueError(f'frames must be >= 2, got {frames}')
    if size < 64:
        raise ValueError(f'size must be >= 64 pixels, got {size}')
    if corruption != 'none':
        check_corruption(corruption, severity)
    if num_classes not in (1, 2):
        raise ValueError(f'num_classes must be 1 or 2, got {num_classes}')
