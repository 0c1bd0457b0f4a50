"""Atomic file writes: a crash never leaves a half-written result; a lock
file for caches that several processes may fill at once."""
import contextlib
import fcntl
import json
import os
import os.path as osp
import secrets
from typing import Any, Callable, Iterator, Tuple

from mmengine.fileio import LocalBackend, register_backend


# tries before giving up on finding an unused temporary name
_TEMP_TRIES = 100


def _new_temp(folder: str, prefix: str, suffix: str,
              create: Callable[[str], Any]) -> Tuple[Any, str]:
    for _ in range(_TEMP_TRIES):
        path = osp.join(folder, f'{prefix}{secrets.token_hex(6)}{suffix}')
        try:
            return create(path), path
        except FileExistsError:
            continue
    raise FileExistsError(f'no unused temporary name {prefix}*{suffix} in '
                          f'{folder} after {_TEMP_TRIES} tries')


def make_temp_file(folder: str, prefix: str = '.tmp-',
                   suffix: str = '') -> Tuple[int, str]:
    """``tempfile.mkstemp`` with the usual permissions.

    mkstemp creates its file with mode 0600, which a rename keeps: a
    checkpoint or result written through it could not be read by another
    user or container uid. Here the file is created (exclusively, like
    mkstemp) with mode 0666 less the process umask, as ``open`` does.

    Returns:
        tuple[int, str]: An open file descriptor (write only) and the path.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0)
    return _new_temp(folder, prefix, suffix,
                     lambda path: os.open(path, flags, 0o666))


def make_temp_dir(folder: str, prefix: str = '.tmp-') -> str:
    """``tempfile.mkdtemp`` with the usual permissions: the folder gets mode
    0777 less the process umask (mkdtemp's is 0700, kept by a rename)."""
    return _new_temp(folder, prefix, '',
                     lambda path: os.mkdir(path, 0o777))[1]


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder
    and a rename; the folder is created if needed. The file gets the usual
    permissions (0666 less the umask)."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = make_temp_file(folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def dump_json_atomic(obj: Any, path: str, indent: int = None) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (:func:`write_atomic`).

    Args:
        obj: A JSON-serialisable object.
        path (str): Destination; its folder is created if needed.
        indent (int, optional): JSON indentation.
    """
    write_atomic(path, json.dumps(obj, indent=indent).encode('utf-8'))


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created, with its folder,
    if needed) for the ``with`` block; other processes wait for it.

    For caches that are filled on first use: two sweep lanes started at
    once would otherwise both make the same data set, and the second one's
    rename fails on the first one's folder. The lock is released when the
    block ends or the process dies (``flock``), so a killed run never leaves
    a stale lock behind.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'a') as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic writes.

    mmengine saves checkpoints (and ``last_checkpoint``) with
    ``LocalBackend.put``, which opens the destination and writes into it, so
    a crash mid-write leaves a truncated checkpoint. Here ``put`` /
    ``put_text`` write a temporary file in the same folder and rename it.
    Registered for local paths when mmplug is imported.
    """

    def put(self, obj: bytes, filepath) -> None:
        write_atomic(str(filepath), obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        write_atomic(str(filepath), obj.encode(encoding))


register_backend('local', AtomicLocalBackend, force=True, prefixes='')
