import os

import pytest
from mmengine.fileio import get_file_backend

from mmplug.utils.io import AtomicLocalBackend, dump_json_atomic


def test_dump_json_atomic(tmp_path):
    path = tmp_path / 'a' / 'm.json'
    dump_json_atomic({'x': 1}, str(path))
    assert path.read_text() == '{"x": 1}'
    assert os.listdir(tmp_path / 'a') == ['m.json']


def test_local_backend_is_atomic(tmp_path, monkeypatch):
    backend = get_file_backend(str(tmp_path / 'x.pth'))
    assert isinstance(backend, AtomicLocalBackend)
    path = tmp_path / 'ckpt.pth'
    backend.put(b'old', str(path))
    assert path.read_bytes() == b'old'

    real_fdopen = os.fdopen

    class Broken:

        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[:2])
            raise OSError('disk full')

    monkeypatch.setattr(os, 'fdopen',
                        lambda fd, mode: Broken(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match='disk full'):
        backend.put(b'new content', str(path))
    assert path.read_bytes() == b'old'  # nothing half-overwritten
    assert os.listdir(tmp_path) == ['ckpt.pth']
