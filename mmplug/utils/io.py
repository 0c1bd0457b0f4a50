"""Atomic file writes: a crash never leaves a half-written result."""
import json
import os
import os.path as osp
import tempfile
from typing import Any


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
