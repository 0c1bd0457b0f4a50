"""The synthetic data caches are safe to fill from two processes at once
(two sweep lanes started together)."""
import fcntl
import json
import multiprocessing as mp
import os
import os.path as osp

from mmplug.apis.demo import SplitSpec, corrupted_root, make_split
from mmplug.utils.io import file_lock

SPEC = SplitSpec(num_videos=2, frames=4, size=64, seed=3)


def _make_split(root, barrier, queue):
    barrier.wait()
    try:
        make_split(root, 'train', SPEC)
        queue.put('ok')
    except BaseException as e:  # reported to the test
        queue.put(f'{type(e).__name__}: {e}')


def _corrupt(root, barrier, queue):
    barrier.wait()
    try:
        queue.put(corrupted_root(root, 'gaussian_noise', 2, splits=['train']))
    except BaseException as e:
        queue.put(f'{type(e).__name__}: {e}')


def _race(target, root, n=3):
    ctx = mp.get_context('fork')
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=target, args=(root, barrier, queue))
             for _ in range(n)]
    for p in procs:
        p.start()
    out = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return out


def test_file_lock_excludes_another_process(tmp_path):
    path = str(tmp_path / 'sub' / 'x.lock')
    with file_lock(path):
        # a second open file description cannot take the lock meanwhile
        with open(path) as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                taken = True
            except BlockingIOError:
                taken = False
        assert not taken
    with open(path) as f:  # released at the end of the block
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_concurrent_make_split_and_corrupted_root(tmp_path):
    root = str(tmp_path / 'synth')
    assert _race(_make_split, root) == ['ok'] * 3
    seqs = sorted(os.listdir(osp.join(root, 'train')))
    assert len(seqs) == SPEC.num_videos
    with open(osp.join(root, '.train.json')) as f:
        assert json.load(f)['seed'] == SPEC.seed
    assert osp.isfile(osp.join(root, 'annotations', 'train_cocoformat.json'))
    # no temporary folder was left behind by a losing process
    assert not [d for d in os.listdir(root) if d.startswith('.tmp')]

    outs = _race(_corrupt, root)
    want = osp.join(f'{root}-C', 'gaussian_noise-2')
    assert outs == [want] * 3, outs
    assert sorted(os.listdir(osp.join(want, 'train'))) == seqs
