import os

import pytest
from mmengine.fileio import get_file_backend

from mmplug.utils.io import (AtomicLocalBackend, dump_json_atomic,
                             make_temp_dir, make_temp_file)


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


@pytest.fixture
def umask_027():
    """A known umask for the test (restored after): group may read, others
    nothing; mkstemp's 0600 / mkdtemp's 0700 would differ from it."""
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def _mode(path):
    return os.stat(path).st_mode & 0o777


def test_written_files_get_the_umask_permissions(tmp_path, umask_027):
    dump_json_atomic({'x': 1}, str(tmp_path / 'result.json'))
    backend = get_file_backend(str(tmp_path / 'x.pth'))
    backend.put(b'weights', str(tmp_path / 'epoch_1.pth'))
    backend.put_text('epoch_1.pth', str(tmp_path / 'last_checkpoint'))
    for name in ('result.json', 'epoch_1.pth', 'last_checkpoint'):
        assert _mode(tmp_path / name) == 0o640, name  # 0666 & ~027


def test_temp_files_and_folders_get_the_umask_permissions(
        tmp_path, umask_027):
    fd, path = make_temp_file(str(tmp_path), prefix='.p-', suffix='.pth')
    os.close(fd)
    assert os.path.basename(path).startswith('.p-') and path.endswith('.pth')
    assert _mode(path) == 0o640
    folder = make_temp_dir(str(tmp_path), prefix='.seq-')
    assert os.path.basename(folder).startswith('.seq-')
    assert _mode(folder) == 0o750  # 0777 & ~027
    assert make_temp_dir(str(tmp_path), prefix='.seq-') != folder


def test_temp_names_are_never_reused(tmp_path, monkeypatch):
    import secrets
    monkeypatch.setattr(secrets, 'token_hex', lambda n: 'same')
    make_temp_dir(str(tmp_path))
    with pytest.raises(FileExistsError, match='no unused temporary name'):
        make_temp_dir(str(tmp_path))
