"""What determines a run: the key under which its results are cached.

A step of an experiment (a training or a test run) is filed under the hash
of its inputs: the fully merged config (every ``--cfg-options`` applied,
seed and data roots included), the annotation files it reads (by content),
the checkpoint it starts from (by content) and the package version plus the
git commit of the checkout it runs from (when there is one). A changed input
gives another key, so a cached result is never taken for another run's.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Iterable, Optional, Sequence, Set, Tuple

from mmengine.config import Config

from mmplug.utils.checks import dataset_files

_SHA_CACHE: Dict[tuple, str] = {}
KEY_CHARS = 16  # of the sha256 hex digest: the run folder's name


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes (memoised by path, size and mtime)."""
    stat = os.stat(path)
    memo = (osp.realpath(path), stat.st_size, stat.st_mtime_ns)
    if memo not in _SHA_CACHE:
        digest = hashlib.sha256()
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
        _SHA_CACHE[memo] = digest.hexdigest()
    return _SHA_CACHE[memo]


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _resolve_ref(gitdir: str, ref: str) -> Optional[str]:
    common = gitdir
    if osp.isfile(osp.join(gitdir, 'commondir')):  # a linked worktree
        common = osp.join(gitdir, _read(osp.join(gitdir, 'commondir')))
    for base in (gitdir, common):
        if osp.isfile(osp.join(base, ref)):
            return _read(osp.join(base, ref))
    packed = osp.join(common, 'packed-refs')
    if osp.isfile(packed):
        for line in _read(packed).splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref:
                return parts[0]
    return None


def git_commit() -> Optional[str]:
    """The commit checked out where the package is imported from, when
    that is a git checkout (read from ``.git``; git need not be installed);
    None for an installed package."""
    import mmplug
    root = osp.dirname(osp.dirname(osp.abspath(mmplug.__file__)))
    dotgit = osp.join(root, '.git')
    try:
        if osp.isfile(dotgit):  # a worktree: "gitdir: PATH"
            text = _read(dotgit)
            if not text.startswith('gitdir:'):
                return None
            gitdir = osp.join(root, text[len('gitdir:'):].strip())
        elif osp.isdir(dotgit):
            gitdir = dotgit
        else:
            return None
        head = _read(osp.join(gitdir, 'HEAD'))
        if not head.startswith('ref:'):
            return head  # detached
        return _resolve_ref(gitdir, head[len('ref:'):].strip())
    except OSError:
        return None


def code_version() -> Dict[str, Optional[str]]:
    """``{'version': mmplug.__version__, 'commit': git commit or None}``."""
    from mmplug.version import __version__
    return dict(version=__version__, commit=git_commit())


def annotation_fingerprints(cfg: Config,
                            splits: Sequence[str]) -> Dict[str, Dict]:
    """Per dataloader split: its annotation file, image folder and the
    file's sha256 (None when it does not exist)."""
    out = {}
    for split, ann_file, img_dir in dataset_files(cfg):
        if split in splits:
            out[split] = dict(
                ann_file=osp.abspath(ann_file), img_dir=osp.abspath(img_dir),
                sha256=file_sha256(ann_file)
                if osp.isfile(ann_file) else None)
    return out


def run_key(cfg: Config, kind: str, splits: Sequence[str],
            checkpoint: Optional[str] = None) -> Tuple[str, Dict]:
    """The key of a ``kind`` (``'train'`` / ``'test'``) run of a merged
    config reading the dataloaders of ``splits``, starting from
    ``checkpoint``; returns ``(key, the inputs it hashes)``."""
    merged = cfg.to_dict()
    for name in ('work_dir', 'load_from'):  # where it runs, not what
        merged.pop(name, None)
    inputs = dict(
        kind=kind, config=merged, data=annotation_fingerprints(cfg, splits),
        checkpoint=file_sha256(checkpoint) if checkpoint else None,
        code=code_version())
    text = json.dumps(inputs, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_CHARS], \
        json.loads(text)


def image_paths(cfg: Config, split: str) -> Set[str]:
    """The real paths of the images ``<split>_dataloader`` reads (from its
    COCO-video annotation file)."""
    for name, ann_file, img_dir in dataset_files(cfg):
        if name == split:
            with open(ann_file) as f:
                images = json.load(f)['images']
            return {osp.realpath(osp.join(img_dir, im['file_name']))
                    for im in images}
    raise KeyError(f'the config has no {split}_dataloader.dataset.ann_file')


def check_disjoint(adapt_cfg: Config, test_cfg: Config,
                   transductive: bool, what: str) -> Iterable[str]:
    """Refuse adaptation frames that are test frames, unless the run is
    transductive (adapts on its own test set, as DARTH's protocol does);
    returns the shared images (empty unless transductive).

    Raises:
        ValueError: Naming both annotation files and a shared image.
    """
    shared = image_paths(adapt_cfg, 'train') & image_paths(test_cfg, 'test')
    if shared and not transductive:
        files = {s: a for s, a, _ in dataset_files(adapt_cfg)}
        tests = {s: a for s, a, _ in dataset_files(test_cfg)}
        raise ValueError(
            f'{what}: the adaptation split ({files["train"]}) and the test '
            f'split ({tests["test"]}) share {len(shared)} image(s), e.g. '
            f'{min(shared)}: adapting on test frames is transductive; use '
            'disjoint splits, or say so (--transductive, '
            '`transductive = True` in the config, '
            'Experiment(transductive=True))')
    return sorted(shared)
