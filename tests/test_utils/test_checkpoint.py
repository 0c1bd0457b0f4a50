import os

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from mmplug.utils.checkpoint import UnsafeCheckpointError, safe_load


class _Payload:
    """Runs a shell command when unpickled (a malicious checkpoint)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_mmengine_checkpoint_types_load_safely(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    ckpt = dict(state_dict=dict(w=torch.ones(2)),
                message_hub=dict(log_scalars=dict(loss=buf),
                                 runtime_info=dict(x=np.float64(2.0),
                                                   arr=np.arange(3))),
                meta=dict(epoch=1, dataset_meta=dict(classes=('a', ))))
    path = str(tmp_path / 'ok.pth')
    torch.save(ckpt, path)
    out = torch.load(path)  # torch's default (weights_only=True)
    assert out['message_hub']['log_scalars']['loss'].mean() == 1.5
    assert safe_load(path)['meta']['epoch'] == 1
    assert _load_checkpoint(path)['state_dict']['w'].sum() == 2


def test_pickle_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, meta=_Payload(str(marker))), path)
    for load in (safe_load, _load_checkpoint):
        with pytest.raises(UnsafeCheckpointError,
                           match=r'evil\.pth.*(posix|os)\.system'):
            load(path)
    assert not marker.exists()


def test_getattr_is_only_allowed_for_history_buffer(tmp_path):
    class Evil:

        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(x=Evil()), path)
    with pytest.raises(UnsafeCheckpointError, match='getattr.pth'):
        safe_load(path)


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_load(str(tmp_path / 'nope.pth'))
