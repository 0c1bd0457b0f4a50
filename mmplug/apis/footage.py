"""Footage in and out: frames of a video file or an image folder as a
one-sequence MOTChallenge root (no labels), tracks as MOTChallenge text,
and a rendered video or GIF with track ids.

The frames are written as a MOTChallenge sequence and converted to a
COCO-video annotation without boxes (:func:`convert_mot_root`), so that the
project's test / adaptation loops and configs run on them unchanged.
"""
import os
import os.path as osp
import shutil
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Union

import cv2
import numpy as np
import torch

from mmplug.datasets.converters import convert_mot_root
from mmplug.datasets.converters.mot import IMG_EXTS
from mmplug.utils.io import write_atomic

# where the sequence lies inside the root written by write_sequence_root
SPLIT = 'footage'
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg',
              '.mpeg', '.gif')
# MOTChallengeMetric's line format (mmdet 3.3), so files compare as text
MOT_LINE = '%d,%d,%.3f,%.3f,%.3f,%.3f,%.3f,-1,-1,-1\n'

Frames = Union[str, Sequence[np.ndarray]]


@dataclass
class FrameTracks:
    """The tracks of one frame.

    Attributes:
        frame (int): Frame number, 1-based (MOTChallenge).
        ids (np.ndarray): (N, ) track ids.
        bboxes (np.ndarray): (N, 4) boxes x1, y1, x2, y2 (float32, pixels
            of the original frame).
        scores (np.ndarray): (N, ) scores.
        labels (np.ndarray): (N, ) class indices.
    """
    frame: int
    ids: np.ndarray
    bboxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_sample(cls, frame: int, instances) -> 'FrameTracks':
        """From mmdet's ``pred_track_instances`` (InstanceData)."""
        return cls(frame=frame,
                   ids=instances.instances_id.cpu().numpy(),
                   bboxes=instances.bboxes.cpu().float().numpy(),
                   scores=instances.scores.cpu().numpy(),
                   labels=instances.labels.cpu().numpy())

    def above(self, score_thr: float) -> 'FrameTracks':
        """The tracks with a score of at least ``score_thr``."""
        keep = self.scores >= score_thr
        return FrameTracks(self.frame, self.ids[keep], self.bboxes[keep],
                           self.scores[keep], self.labels[keep])

    def mot_lines(self) -> List[str]:
        """``frame,id,x,y,w,h,score,-1,-1,-1`` lines, formatted as mmdet's
        MOTChallengeMetric writes them (w, h computed in float32)."""
        boxes = torch.from_numpy(self.bboxes)
        wh = boxes[:, 2:] - boxes[:, :2]
        return [MOT_LINE % (self.frame, i, b[0], b[1], s[0], s[1], c)
                for i, b, s, c in zip(self.ids.tolist(), boxes.tolist(),
                                      wh.tolist(), self.scores.tolist())]


def list_images(folder: str) -> List[str]:
    """Image files of a folder, sorted by name; ValueError if none."""
    names = sorted(f for f in os.listdir(folder)
                   if f.lower().endswith(IMG_EXTS))
    if not names:
        raise ValueError(f'{folder}: no images ({", ".join(IMG_EXTS)}) in '
                         'this folder')
    return [osp.join(folder, n) for n in names]


def video_fps(path: str, default: float = 30.0) -> float:
    """Frame rate of a video file (``default`` for a folder or unknown)."""
    if not osp.isfile(path):
        return default
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0
    cap.release()
    return float(fps) if fps and fps > 0 else default


def read_video(path: str) -> Iterator[np.ndarray]:
    """BGR frames of a video file; errors name the file."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f'{path}: cannot be read as a video (not a video '
                         'file, or a codec OpenCV lacks)')
    count = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            count += 1
            yield frame
    finally:
        cap.release()
    if count == 0:
        raise ValueError(f'{path}: the video has no frames')


def footage_name(frames: Frames) -> str:
    """The sequence name: the file's stem or the folder's name (the
    sequence's for a MOTChallenge ``<seq>/img1`` folder)."""
    if not isinstance(frames, str):
        return 'video'
    path = osp.normpath(osp.abspath(frames))
    if osp.isdir(path) and osp.basename(path) == 'img1':
        path = osp.dirname(path)
    return osp.splitext(osp.basename(path))[0] or 'video'


def write_sequence_root(frames: Frames, root: str,
                        max_frames: Optional[int] = None) -> dict:
    """Write ``frames`` as ``root/footage/<name>/img1/`` and its COCO-video
    annotation ``root/annotations/footage_cocoformat.json`` (no boxes).

    Args:
        frames (str | Sequence[np.ndarray]): A video file, a folder of
            images (linked, not re-encoded), or BGR frames.
        root (str): A new or empty folder.
        max_frames (int, optional): Only the first ``max_frames`` frames.

    Returns:
        dict: ``name``, ``num_frames``, ``ann_file`` and ``images`` (the
        frame files, in order).
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f'max_frames must be >= 1, got {max_frames}')
    if osp.isdir(root) and os.listdir(root):
        raise FileExistsError(f'{root} is not empty (frames of an earlier '
                              'run?): choose a new work dir')
    name = footage_name(frames)
    img_dir = osp.join(root, SPLIT, name, 'img1')
    os.makedirs(img_dir, exist_ok=True)
    images = _write_frames(frames, img_dir, max_frames)
    ann_dir = osp.join(root, 'annotations')
    ann_file = convert_mot_root(root, ann_dir, splits=[SPLIT])[0]
    return dict(name=name, num_frames=len(images), ann_file=ann_file,
                images=images)


def _write_frames(frames: Frames, img_dir: str,
                  max_frames: Optional[int]) -> List[str]:
    limit = max_frames or float('inf')
    if not isinstance(frames, str):
        return _write_arrays(frames, img_dir, limit, 'frames')
    if not osp.exists(frames):
        raise FileNotFoundError(f'input {frames} does not exist')
    if osp.isdir(frames):
        out = []
        for i, src in enumerate(list_images(frames)):
            if i >= limit:
                break
            dst = osp.join(img_dir, f'{i + 1:06d}{osp.splitext(src)[1]}')
            _link_or_copy(osp.abspath(src), dst)
            out.append(dst)
        return out
    return _write_arrays(read_video(frames), img_dir, limit, frames)


def _write_arrays(frames: Iterable[np.ndarray], img_dir: str, limit,
                  what: str) -> List[str]:
    """BGR arrays as lossless PNG files (a JPEG would change the pixels)."""
    out = []
    for i, frame in enumerate(frames):
        if i >= limit:
            break
        if not isinstance(frame, np.ndarray) or frame.ndim not in (2, 3):
            raise ValueError(f'{what}: frame {i + 1} is not an image array')
        path = osp.join(img_dir, f'{i + 1:06d}.png')
        if not cv2.imwrite(path, frame, [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise OSError(f'cannot write {path}')
        out.append(path)
    if not out:
        raise ValueError(f'{what}: no frames')
    return out


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.symlink(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_mot_tracks(tracks: Iterable[FrameTracks], path: str) -> str:
    """One MOTChallenge result file (TrackEval's tracker format),
    written atomically; returns ``path``."""
    text = ''.join(line for t in tracks for line in t.mot_lines())
    write_atomic(path, text.encode())
    return path


def render_frames(images: Sequence[str], tracks: Sequence[FrameTracks],
                  title: str = '') -> Iterator[np.ndarray]:
    """BGR frames with boxes and track ids (:func:`draw_tracks`), scaled so
    that the long side is at most 960 px (at least 2x for small frames, so
    the ids stay readable)."""
    from mmplug.visualization import draw_tracks
    for path, frame in zip(images, tracks):
        img = cv2.imread(path)
        if img is None:
            raise ValueError(f'{path}: cannot be read as an image')
        scale = min(4.0, 960 / max(img.shape[:2]))
        img = cv2.resize(img, None, fx=scale, fy=scale)
        rows = [(i, x1 * scale, y1 * scale, (x2 - x1) * scale,
                 (y2 - y1) * scale)
                for i, (x1, y1, x2, y2) in zip(frame.ids.tolist(),
                                              frame.bboxes.tolist())]
        yield draw_tracks(img, rows, f'{title} frame {frame.frame}')


def write_video(frames: Iterable[np.ndarray], path: str,
                fps: float) -> str:
    """Write BGR frames as an MP4 (OpenCV's mp4v) or an animated GIF (by
    the extension), through a temporary file and a rename."""
    ext = osp.splitext(path)[1].lower()
    if ext not in ('.mp4', '.gif'):
        raise ValueError(f'--out {path}: the extension must be .mp4 or .gif')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.tmp-{os.getpid()}-{osp.basename(path)}')
    try:
        if ext == '.gif':
            _write_gif(frames, tmp, fps)
        else:
            _write_mp4(frames, tmp, fps)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path


def _write_mp4(frames: Iterable[np.ndarray], path: str, fps: float) -> None:
    writer = None
    for img in frames:
        if writer is None:
            h, w = img.shape[:2]
            writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'),
                                     fps, (w, h))
            if not writer.isOpened():
                raise OSError(f'OpenCV cannot write an mp4 video to {path}')
        writer.write(img)
    if writer is None:
        raise ValueError('no frames to write')
    writer.release()


def _write_gif(frames: Iterable[np.ndarray], path: str, fps: float) -> None:
    from PIL import Image
    images = [Image.fromarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
              for f in frames]
    if not images:
        raise ValueError('no frames to write')
    images[0].save(path, format='GIF', save_all=True,
                   append_images=images[1:], duration=int(1000 / fps),
                   loop=0)
