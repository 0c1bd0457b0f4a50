"""A corrupted copy of a MOTChallenge-layout root (MOT17-C, DanceTrack-C).

``ROOT/<split>/<seq>/{img1/, gt/gt.txt, seqinfo.ini, ...}`` ->
``OUT/<split>/<seq>/...`` with every image corrupted at its own size
(:func:`mmplug.datasets.corruptions.corrupt_frame`, deterministic per
``(seed, sequence, frame)``) and every other file of the sequence copied,
then ``OUT/annotations/<split>_cocoformat.json`` as ``mot2coco.py`` writes
them. ROOT is only read.

Resumable: each sequence is written under a temporary name and renamed when
complete, so a killed run leaves only whole sequences (and temporary folders
that the next run deletes); rerunning skips the finished sequences and
writes the same bytes as one uninterrupted run. ``OUT/.corruption.json``
records the parameters: resuming with other parameters is refused.
"""
import json
import os
import os.path as osp
import shutil
from multiprocessing import get_context
from typing import Callable, List, Optional, Sequence, Tuple

import cv2

from mmplug.utils.io import dump_json_atomic, make_temp_dir
from ..corruptions import check_corruption, corrupt_frame
from .mot import IMG_EXTS, convert_mot_root, list_sequences, read_seqinfo

STAMP = '.corruption.json'
TMP_PREFIX = '.tmp-'
JPEG_QUALITY = 95

# (frame index, source path, destination path)
FrameJob = Tuple[int, str, str]


def _corrupt_file(args: Tuple[FrameJob, str, int, int, str]) -> str:
    (index, src, dst), name, severity, seed, sequence = args
    img = cv2.imread(src, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f'could not read image {src}')
    out = corrupt_frame(img, name, severity, seed, sequence, index)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] \
        if dst.lower().endswith(('.jpg', '.jpeg')) else []
    if not cv2.imwrite(dst, out, params):
        raise OSError(f'could not write image {dst}')
    return dst


def _check_stamp(out: str, params: dict) -> None:
    path = osp.join(out, STAMP)
    if osp.isfile(path):
        with open(path) as f:
            old = json.load(f)
        if old != params:
            raise FileExistsError(
                f'{out} holds a corrupted copy made with {old}; refusing to '
                f'mix it with {params} (choose another output folder)')
    elif osp.isdir(out) and os.listdir(out):
        raise FileExistsError(f'output folder {out} exists, is not empty and '
                              f'was not made by corrupt_mot ({STAMP} missing)')
    dump_json_atomic(params, path, indent=2)


def _sequence_jobs(seq_dir: str, out_dir: str) -> Tuple[str, List[FrameJob]]:
    """The image folder name and the per-frame jobs of one sequence."""
    info = read_seqinfo(seq_dir)
    img_dir = osp.basename(info['img_dir'])
    frames = sorted(f for f in os.listdir(info['img_dir'])
                    if f.lower().endswith(IMG_EXTS))
    jobs = [(i, osp.join(info['img_dir'], f), osp.join(out_dir, img_dir, f))
            for i, f in enumerate(frames)]
    return img_dir, jobs


def corrupt_mot_root(root: str,
                     out: str,
                     corruption: str,
                     severity: int,
                     seed: int = 0,
                     workers: int = 1,
                     splits: Optional[Sequence[str]] = None,
                     split_train: bool = False,
                     classes: Sequence[str] = ('pedestrian', ),
                     progress: Optional[Callable[[int, int], None]] = None
                     ) -> List[str]:
    """Write the corrupted copy of ``root`` to ``out``; see the module doc.

    Args:
        root (str): MOTChallenge-layout input root.
        out (str): Output root (new, or an interrupted run's to resume).
        corruption (str): An ImageNet-C corruption name.
        severity (int): 1..5.
        seed (int): Corruption seed. Defaults to 0.
        workers (int): Processes corrupting frames. Defaults to 1.
        splits (Sequence[str], optional): Only these split folders.
        split_train (bool): Also write half-train / half-val annotations
            (as ``mot2coco.py --split-train``).
        classes (Sequence[str]): Class names for the annotations.
        progress (callable, optional): ``progress(done, total)`` per frame.

    Returns:
        list[str]: The written annotation files.
    """
    check_corruption(corruption, severity)
    if workers < 1:
        raise ValueError(f'workers must be >= 1, got {workers}')
    if osp.abspath(root) == osp.abspath(out):
        raise ValueError('the output folder must differ from the input root')
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
    os.makedirs(out, exist_ok=True)
    _check_stamp(out, dict(corruption=corruption, severity=severity,
                           seed=seed, source=osp.abspath(root)))
    todo = []
    for split in found:
        split_out = osp.join(out, split)
        os.makedirs(split_out, exist_ok=True)
        for stale in os.listdir(split_out):  # an interrupted run's leftovers
            if stale.startswith(TMP_PREFIX):
                shutil.rmtree(osp.join(split_out, stale))
        for seq in list_sequences(osp.join(root, split)):
            if not osp.isdir(osp.join(split_out, seq)):
                todo.append((split, seq))
    totals = [len(_sequence_jobs(osp.join(root, s, q), '')[1])
              for s, q in todo]
    done, total = 0, sum(totals)
    ctx = get_context('fork')
    pool = ctx.Pool(workers) if workers > 1 else None
    try:
        for (split, seq), _ in zip(todo, totals):
            seq_dir = osp.join(root, split, seq)
            tmp = make_temp_dir(osp.join(out, split), f'{TMP_PREFIX}{seq}-')
            img_dir, jobs = _sequence_jobs(seq_dir, tmp)
            _copy_sequence_files(seq_dir, tmp, img_dir)
            args = [(job, corruption, severity, seed, seq) for job in jobs]
            results = pool.imap_unordered(_corrupt_file, args, chunksize=4) \
                if pool else map(_corrupt_file, args)
            for _ in results:
                done += 1
                if progress is not None:
                    progress(done, total)
            os.replace(tmp, osp.join(out, split, seq))
    finally:
        if pool is not None:
            pool.terminate()
    return convert_mot_root(out, osp.join(out, 'annotations'), split_train,
                            classes, splits=found)


def _copy_sequence_files(seq_dir: str, dst: str, img_dir: str) -> None:
    """Everything of a sequence but its images (gt/, seqinfo.ini, det/)."""
    for entry in sorted(os.listdir(seq_dir)):
        src = osp.join(seq_dir, entry)
        if entry == img_dir:
            os.makedirs(osp.join(dst, entry))
        elif osp.isdir(src):
            shutil.copytree(src, osp.join(dst, entry))
        else:
            shutil.copy2(src, osp.join(dst, entry))
