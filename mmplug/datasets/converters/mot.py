"""MOTChallenge layout -> mmdet COCO-video JSON.

Reads ``ROOT/<split>/<seq>/{img1/, gt/gt.txt, seqinfo.ini}`` for split folders
of any name (MOT17, MOT20, DanceTrack, the synthetic set) and writes
``OUT_DIR/<split>_cocoformat.json`` per split, never writing into ROOT.

Half splits are mmdet 3.3's (its MOT converter, ``mot2coco.py``, which
the public MOT17 QDTrack checkpoints were trained with): of a sequence of n
frames, ``half-train`` holds frames 1 .. n // 2 + 1 and ``half-val`` frames
n // 2 + 2 .. n. MOT15 / 2D-MOT-2015 ``gt.txt`` files (10 columns, the last
three world coordinates) are read as mmdet reads them: every row a pedestrian.

Differences from mmdet's converter: ground truth is kept for every sequence
that has ``gt/gt.txt`` (mmdet drops it for ``test``), MOT15 files are
recognised by their 10 columns (mmdet: by ``MOT15`` in the path) and keep
their confidence column (0 marks a row to ignore), the input folder is left
untouched, malformed lines and a ``seqinfo.ini`` whose ``seqLength``
disagrees with the image folder raise an error naming the file, and every JSON
is written atomically.
"""
import configparser
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from PIL import Image

from mmplug.utils.io import dump_json_atomic

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')
# MOT15's gt.txt: frame, id, x, y, w, h, conf, world x, y, z
MOT15_COLUMNS = 10


class MOTFormatError(ValueError):
    """A MOTChallenge file that cannot be parsed; names the file and line."""


def parse_gt_file(path: str) -> List[dict]:
    """Parse a MOTChallenge ``gt.txt``.

    Accepts 6 or more comma-separated columns ``frame, id, x, y, w, h[, conf,
    class, visibility, ...]`` (MOT16 / 17 / 20, DanceTrack); missing conf /
    class / visibility default to 1. A 10-column row is MOT15's ``frame, id,
    x, y, w, h, conf, wx, wy, wz`` (world coordinates, usually -1): class 1
    (pedestrian) and visibility 1, as mmdet's converter reads it.

    Returns:
        list[dict]: One dict per row with ``frame`` (1-based), ``id``,
        ``bbox`` (x, y, w, h), ``conf``, ``cls`` and ``visibility``.

    Raises:
        MOTFormatError: On a malformed line, naming ``path:line``.
    """
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            rows.append(_parse_gt_line(line, path, lineno))
    return rows


def _parse_gt_line(line: str, path: str, lineno: int) -> dict:
    parts = line.replace(' ', '').split(',')
    where = f'{path}:{lineno}'
    if len(parts) < 6:
        raise MOTFormatError(f'{where}: expected at least 6 comma-separated '
                             f'values (frame,id,x,y,w,h,...), got {line!r}')
    try:
        frame, ins_id = int(float(parts[0])), int(float(parts[1]))
        bbox = [float(v) for v in parts[2:6]]
        conf = float(parts[6]) if len(parts) > 6 else 1.0
        mot15 = len(parts) == MOT15_COLUMNS  # columns 8-10: world x, y, z
        cls = int(float(parts[7])) if len(parts) > 7 and not mot15 else 1
        vis = float(parts[8]) if len(parts) > 8 and not mot15 else 1.0
    except ValueError as exc:
        raise MOTFormatError(f'{where}: non-numeric value in {line!r}') \
            from exc
    if frame < 1:
        raise MOTFormatError(f'{where}: frame numbers start at 1, got {frame}')
    if bbox[2] < 0 or bbox[3] < 0:
        raise MOTFormatError(f'{where}: negative box size in {line!r}')
    return dict(frame=frame, id=ins_id, bbox=bbox, conf=conf, cls=cls,
                visibility=vis)


def read_seqinfo(seq_dir: str) -> dict:
    """Sequence length, image size, image folder and fps of one sequence.

    Uses ``seqinfo.ini`` when present, otherwise the image folder.
    """
    ini = osp.join(seq_dir, 'seqinfo.ini')
    img_dir = osp.join(seq_dir, 'img1')
    if osp.isfile(ini):
        cfg = configparser.ConfigParser()
        cfg.read(ini)
        try:
            s = cfg['Sequence']
            img_dir = osp.join(seq_dir, s.get('imDir', 'img1'))
            info = dict(
                length=int(s['seqLength']), width=int(s['imWidth']),
                height=int(s['imHeight']), fps=float(s.get('frameRate', 30)),
                ext=s.get('imExt', '.jpg'), img_dir=img_dir)
        except (KeyError, ValueError) as exc:
            raise MOTFormatError(f'{ini}: missing or bad field ({exc})') \
                from exc
    else:
        info = None
    frames = sorted(f for f in os.listdir(img_dir)
                    if f.lower().endswith(IMG_EXTS)) \
        if osp.isdir(img_dir) else []
    if not frames:
        raise MOTFormatError(f'{img_dir}: no images (empty video)')
    if info is None:
        with Image.open(osp.join(img_dir, frames[0])) as im:
            width, height = im.size
        info = dict(length=len(frames), width=width, height=height, fps=30.0,
                    ext=osp.splitext(frames[0])[1], img_dir=img_dir)
    if len(frames) != info['length']:
        raise MOTFormatError(
            f'sequence {osp.basename(osp.normpath(seq_dir))}: {ini} says '
            f'seqLength={info["length"]}, but {img_dir} holds {len(frames)} '
            'images')
    info['files'] = frames
    return info


class _Builder:
    """Accumulates videos, images and annotations of one output split."""

    def __init__(self, classes: Sequence[str]):
        self.classes = tuple(classes)
        self.out = dict(
            videos=[], images=[], annotations=[],
            categories=[dict(id=i + 1, name=n)
                        for i, n in enumerate(self.classes)])
        self.ins_ids: Dict[Tuple[int, int], int] = {}

    def add_video(self, name: str, info: dict, gts: Optional[List[dict]],
                  frame_range: range) -> None:
        vid = len(self.out['videos']) + 1
        self.out['videos'].append(dict(
            id=vid, name=name, fps=info['fps'], width=info['width'],
            height=info['height']))
        by_frame: Dict[int, List[dict]] = {}
        for row in gts or []:
            by_frame.setdefault(row['frame'], []).append(row)
        img_dir_rel = osp.relpath(info['img_dir'], osp.dirname(
            osp.dirname(info['img_dir'])))
        for frame_id, mot_frame in enumerate(frame_range):
            img_id = len(self.out['images']) + 1
            self.out['images'].append(dict(
                id=img_id, video_id=vid, frame_id=frame_id,
                mot_frame_id=mot_frame,
                file_name=osp.join(img_dir_rel, info['files'][mot_frame - 1]),
                height=info['height'], width=info['width']))
            for row in by_frame.get(mot_frame, []):
                self._add_ann(row, img_id, vid)

    def _add_ann(self, row: dict, img_id: int, vid: int) -> None:
        if not 1 <= row['cls'] <= len(self.classes):
            return  # classes outside --classes (e.g. MOT17 distractors)
        key = (vid, row['id'])
        ins = self.ins_ids.setdefault(key, len(self.ins_ids) + 1)
        x, y, w, h = row['bbox']
        self.out['annotations'].append(dict(
            id=len(self.out['annotations']) + 1, image_id=img_id,
            video_id=vid, category_id=row['cls'], instance_id=ins,
            mot_instance_id=row['id'], bbox=[x, y, w, h], area=w * h,
            iscrowd=int(row['conf'] == 0), mot_conf=row['conf'],
            mot_class_id=row['cls'], visibility=row['visibility']))


def list_sequences(split_dir: str) -> List[str]:
    """Sequence folders of a split: sub folders holding ``img1/``."""
    return sorted(
        d for d in os.listdir(split_dir)
        if osp.isdir(osp.join(split_dir, d, 'img1')))


def convert_mot_root(root: str, out_dir: str, split_train: bool = False,
                     classes: Sequence[str] = ('pedestrian', ),
                     splits: Optional[Sequence[str]] = None) -> List[str]:
    """Convert every split folder of ``root``.

    Args:
        root (str): MOTChallenge-layout root; each sub folder holding
            sequences is a split.
        out_dir (str): Where ``<split>_cocoformat.json`` files go.
        split_train (bool): Also write ``half-train`` / ``half-val`` of
            every ``train`` sequence, split as mmdet 3.3 splits them
            (:func:`half_split`).
        classes (Sequence[str]): Category names; gt class k (1-based) maps to
            ``classes[k - 1]``; rows of other classes are left out.
        splits (Sequence[str], optional): Only these split folders.

    Returns:
        list[str]: Paths of the written JSON files.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'input root {root} is not a folder')
    found = [d for d in sorted(os.listdir(root))
             if osp.isdir(osp.join(root, d)) and
             list_sequences(osp.join(root, d))]
    if splits is not None:
        missing = sorted(set(splits) - set(found))
        if missing:
            raise FileNotFoundError(f'no split folder(s) {missing} with '
                                    f'sequences in {root}')
        found = list(splits)
    if not found:
        raise FileNotFoundError(
            f'{root}: no split folder holding <seq>/img1/ sequences')
    written = []
    for split in found:
        outputs = {split: _Builder(classes)}
        if split_train and split == 'train':
            outputs.update({'half-train': _Builder(classes),
                            'half-val': _Builder(classes)})
        split_dir = osp.join(root, split)
        for seq in list_sequences(split_dir):
            _add_sequence(outputs, osp.join(split_dir, seq), seq, split)
        for name, builder in outputs.items():
            path = osp.join(out_dir, f'{name}_cocoformat.json')
            dump_json_atomic(builder.out, path)
            written.append(path)
    return written


def _add_sequence(outputs: Dict[str, _Builder], seq_dir: str, seq: str,
                  split: str) -> None:
    info = read_seqinfo(seq_dir)
    gt_path = osp.join(seq_dir, 'gt', 'gt.txt')
    gts = parse_gt_file(gt_path) if osp.isfile(gt_path) else None
    n = info['length']
    outputs[split].add_video(seq, info, gts, range(1, n + 1))
    if 'half-train' in outputs:
        train, val = half_split(n)
        outputs['half-train'].add_video(seq, info, gts, train)
        outputs['half-val'].add_video(seq, info, gts, val)


def half_split(n: int) -> Tuple[range, range]:
    """1-based frames of ``half-train`` and ``half-val`` of an n-frame
    sequence: 1 .. n // 2 + 1 and n // 2 + 2 .. n, as mmdet 3.3's
    ``mot2coco.py`` (``img_names[:n // 2 + 1]`` / ``[n // 2 + 1:]``)."""
    split = n // 2 + 1
    return range(1, split + 1), range(split + 1, n + 1)
