"""Side-by-side animated GIF of two trackers' MOTChallenge result files."""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image


def read_tracks(path: str) -> Dict[int, List[Tuple[int, float, float, float,
                                                   float]]]:
    """``frame -> [(id, x, y, w, h), ...]`` from a MOTChallenge file."""
    tracks: Dict[int, list] = {}
    with open(path) as f:
        for line in f:
            parts = line.strip().split(',')
            if len(parts) < 6:
                continue
            frame, tid = int(float(parts[0])), int(float(parts[1]))
            x, y, w, h = (float(v) for v in parts[2:6])
            tracks.setdefault(frame, []).append((tid, x, y, w, h))
    return tracks


def _color(track_id: int) -> Tuple[int, int, int]:
    rng = np.random.default_rng(track_id)
    return tuple(int(c) for c in rng.integers(60, 256, 3))


def draw_tracks(img: np.ndarray, rows: Sequence[tuple],
                title: str) -> np.ndarray:
    """Boxes and track ids on a copy of a BGR frame, plus a title."""
    out = img.copy()
    for tid, x, y, w, h in rows:
        c = _color(tid)
        p1, p2 = (int(x), int(y)), (int(x + w), int(y + h))
        cv2.rectangle(out, p1, p2, c, 1)
        cv2.putText(out, str(tid), (p1[0], max(p1[1] - 2, 8)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35, c, 1)
    cv2.rectangle(out, (0, 0), (out.shape[1], 16), (0, 0, 0), -1)
    cv2.putText(out, title, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                (255, 255, 255), 1)
    return out


def comparison_gif(img_dir: str, results: Dict[str, str], out_path: str,
                   fps: int = 10, scale: int = 2) -> str:
    """Write a GIF with one panel per result file, frame by frame.

    Args:
        img_dir (str): The sequence's ``img1`` folder.
        results (dict): ``{panel title: MOTChallenge result file}``.
        out_path (str): The GIF to write (atomically).
        fps (int): Frames per second.
        scale (int): Upscaling of the panels.

    Returns:
        str: ``out_path``.
    """
    frames = sorted(f for f in os.listdir(img_dir) if f.endswith('.jpg'))
    tracks = {title: read_tracks(path) for title, path in results.items()}
    images = []
    for i, name in enumerate(frames, 1):
        img = cv2.imread(osp.join(img_dir, name))
        img = cv2.resize(img, None, fx=scale, fy=scale)
        panels = [
            draw_tracks(img, [(t, x * scale, y * scale, w * scale, h * scale)
                              for t, x, y, w, h in rows.get(i, [])], title)
            for title, rows in tracks.items()
        ]
        images.append(Image.fromarray(
            cv2.cvtColor(np.concatenate(panels, axis=1), cv2.COLOR_BGR2RGB)))
    tmp = out_path + '.tmp.gif'
    images[0].save(tmp, save_all=True, append_images=images[1:],
                   duration=int(1000 / fps), loop=0)
    os.replace(tmp, out_path)
    return out_path
