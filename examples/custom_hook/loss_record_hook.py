"""An example user hook, registered into mmdet's HOOKS from a config.

Enable it with (see README, "Your own hook"):

    custom_imports = dict(
        imports=['mmplug', 'loss_record_hook'], allow_failed_imports=False)
    custom_hooks = [dict(type='LossRecordHook', filename='losses.jsonl')]

with this folder on PYTHONPATH.
"""
import json
import os.path as osp

from mmengine.hooks import Hook

from mmdet.registry import HOOKS


@HOOKS.register_module()
class LossRecordHook(Hook):
    """Append each iteration's losses to ``<work_dir>/<filename>`` (JSONL).

    Args:
        filename (str): File name inside the work dir.
        interval (int): Record every ``interval`` iterations.
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'losses.jsonl', interval: int = 1):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.filename = filename
        self.interval = interval

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not self.every_n_train_iters(runner, self.interval) or not outputs:
            return
        record = dict(iter=runner.iter + 1,
                      **{k: float(v) for k, v in outputs.items()})
        with open(osp.join(runner.work_dir, self.filename), 'a') as f:
            f.write(json.dumps(record) + '\n')
