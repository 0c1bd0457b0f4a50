"""BDD100K box tracking (scalabel per-video JSON) -> mmdet COCO-video JSON.

Follows the conventions of BDD100K's own ``to_coco`` conversion: the 8
tracking classes, boxes as ``[x1, y1, x2 - x1 + 1, y2 - y1 + 1]`` (scalabel
pixel-inclusive corners), instance ids numbered from 1 per video in order of
first appearance, ``other person`` / ``other vehicle`` / ``trailer`` kept as
ignored pedestrian / car / truck. ``mot_conf`` and ``visibility`` are added
so that mmdet's ``MOTChallengeDataset`` loads the result.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

from mmplug.utils.io import dump_json_atomic

BDD_CLASSES = ('pedestrian', 'rider', 'car', 'truck', 'bus', 'train',
               'motorcycle', 'bicycle')
IGNORE_AS = {'other person': 'pedestrian', 'other vehicle': 'car',
             'trailer': 'truck'}
BDD_IMAGE_SIZE = (720, 1280)  # (height, width) of every BDD100K frame


class BDDFormatError(ValueError):
    """A scalabel label file that cannot be converted; names the file."""


def _load_frames(path: str) -> List[dict]:
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as exc:
        raise BDDFormatError(f'{path}: not valid JSON ({exc})') from exc
    frames = data['frames'] if isinstance(data, dict) else data
    if not isinstance(frames, list) or not frames:
        raise BDDFormatError(f'{path}: no frames')
    return sorted(frames, key=lambda fr: fr.get('frameIndex', 0))


def _annotation(label: dict, path: str) -> Optional[Tuple[int, dict]]:
    """(category id, annotation fields) of one label, or None to skip."""
    box = label.get('box2d')
    category = label.get('category')
    if box is None:
        return None
    ignore = category in IGNORE_AS
    category = IGNORE_AS.get(category, category)
    if category not in BDD_CLASSES:
        return None
    try:
        x1, y1, x2, y2 = (float(box[k]) for k in ('x1', 'y1', 'x2', 'y2'))
    except (KeyError, TypeError, ValueError) as exc:
        raise BDDFormatError(f'{path}: label {label.get("id")} has a bad '
                             f'box2d {box!r}') from exc
    attrs = label.get('attributes') or {}
    crowd = bool(attrs.get('crowd', False))
    w, h = x2 - x1 + 1, y2 - y1 + 1
    return BDD_CLASSES.index(category) + 1, dict(
        scalabel_id=str(label.get('id')), bbox=[x1, y1, w, h], area=w * h,
        iscrowd=int(crowd or ignore), ignore=int(ignore),
        mot_conf=0.0 if (crowd or ignore) else 1.0,
        visibility=0.5 if attrs.get('occluded') else 1.0)


def convert_bdd_labels(labels_dir: str, out_file: str,
                       image_size: Tuple[int, int] = BDD_IMAGE_SIZE
                       ) -> Dict[str, int]:
    """Convert every ``*.json`` of ``labels_dir`` (one per video).

    Args:
        labels_dir (str): Folder of scalabel per-video label files.
        out_file (str): The COCO-video JSON to write (atomically).
        image_size (tuple[int, int]): (height, width) of the frames.

    Returns:
        dict: Counts of videos, images and annotations written.
    """
    if not osp.isdir(labels_dir):
        raise FileNotFoundError(f'labels folder {labels_dir} does not exist')
    files = sorted(f for f in os.listdir(labels_dir) if f.endswith('.json'))
    if not files:
        raise FileNotFoundError(f'{labels_dir}: no *.json label files')
    out = dict(categories=[dict(id=i + 1, name=n)
                           for i, n in enumerate(BDD_CLASSES)],
               videos=[], images=[], annotations=[])
    for name in files:
        _add_video(out, osp.join(labels_dir, name), image_size)
    dump_json_atomic(out, out_file)
    return {k: len(out[k]) for k in ('videos', 'images', 'annotations')}


def _add_video(out: dict, path: str, image_size: Tuple[int, int]) -> None:
    frames = _load_frames(path)
    vid = len(out['videos']) + 1
    video_name = frames[0].get('videoName') or \
        osp.splitext(osp.basename(path))[0]
    out['videos'].append(dict(id=vid, name=video_name,
                              attributes=frames[0].get('attributes')))
    ins_ids: Dict[str, int] = {}
    for frame in frames:
        img_id = len(out['images']) + 1
        out['images'].append(dict(
            id=img_id, video_id=vid, frame_id=frame.get('frameIndex', 0),
            file_name=osp.join(video_name, frame['name']),
            height=image_size[0], width=image_size[1],
            attributes=frame.get('attributes')))
        for label in frame.get('labels') or []:
            parsed = _annotation(label, path)
            if parsed is None:
                continue
            cat, fields = parsed
            ins = ins_ids.setdefault(fields['scalabel_id'], len(ins_ids) + 1)
            out['annotations'].append(dict(
                id=len(out['annotations']) + 1, image_id=img_id,
                video_id=vid, category_id=cat, instance_id=ins, **fields))
