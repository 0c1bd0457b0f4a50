"""Atomic file writes: a crash never leaves a half-written result."""
import json
import os
import os.path as osp
import tempfile
from typing import Any

from mmengine.fileio import LocalBackend, register_backend


def dump_json_atomic(obj: Any, path: str, indent: int = None) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file + rename.

    Args:
        obj: A JSON-serialisable object.
        path (str): Destination; its folder is created if needed.
        indent (int, optional): JSON indentation.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp-', suffix='.json', dir=folder)
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(obj, f, indent=indent)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic writes.

    mmengine saves checkpoints (and ``last_checkpoint``) with
    ``LocalBackend.put``, which opens the destination and writes into it, so
    a crash mid-write leaves a truncated checkpoint. Here ``put`` /
    ``put_text`` write a temporary file in the same folder and rename it.
    Registered for local paths when mmplug is imported.
    """

    def put(self, obj: bytes, filepath) -> None:
        self._write_atomic(str(filepath), obj, 'wb')

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self._write_atomic(str(filepath), obj.encode(encoding), 'wb')

    @staticmethod
    def _write_atomic(path: str, data: bytes, mode: str) -> None:
        folder = osp.dirname(osp.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.tmp-', dir=folder)
        try:
            with os.fdopen(fd, mode) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise


register_backend('local', AtomicLocalBackend, force=True, prefixes='')
