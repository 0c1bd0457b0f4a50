import copy
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from mmdet.registry import HOOKS
from mmplug.engine.hooks import EMATrainHook
from mmplug.models.mot.teacher_qdtrack import teacher_student_tensors


class ToyTeacherModel(BaseModel):
    """detector / track_head with teacher copies, as TeacherQDTrack has."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.detector = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        self.track_head = nn.Linear(4, 2)
        self.teacher_detector = copy.deepcopy(self.detector)
        self.teacher_track_head = copy.deepcopy(self.track_head)
        for m in (self.teacher_detector, self.teacher_track_head):
            m.requires_grad_(False)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.track_head(self.detector(x))
        if mode == 'loss':
            return dict(loss=(out - 1).pow(2).mean())
        return out


class ToyData(Dataset):

    def __init__(self, n=8):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        gen = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(3, generator=gen))


def test_registry_build():
    hook = HOOKS.build(dict(type='EMATrainHook', momentum=0.01, warm_up=5))
    assert isinstance(hook, EMATrainHook) and hook.momentum == 0.01


def test_momentum_schedule():
    hook = EMATrainHook(momentum=0.5, warm_up=4)
    # m = min(momentum, (1 + it) / (warm_up + it))
    assert hook.step_momentum(0) == pytest.approx(1 / 4)
    assert hook.step_momentum(2) == pytest.approx(3 / 6)
    assert hook.step_momentum(10) == 0.5
    assert EMATrainHook(momentum=0.002).step_momentum(0) == 0.002


def test_arithmetic_on_toy_model():
    model = ToyTeacherModel()
    with torch.no_grad():
        for p in model.detector.parameters():
            p.add_(1.0)
        model.detector[1].running_mean.fill_(2.0)
    before = {n: t.clone() for n, t, _ in teacher_student_tensors(model)}
    student = {n: s.clone() for n, _, s in teacher_student_tensors(model)}
    hook = EMATrainHook(momentum=0.3, warm_up=2)
    hook.before_train(SimpleNamespace(model=model))
    runner = SimpleNamespace(iter=4, model=model)
    hook.after_train_iter(runner, batch_idx=0)
    m = min(0.3, 5 / 6)
    for name, t, _ in teacher_student_tensors(model):
        if t.is_floating_point():
            expected = (1 - m) * before[name] + m * student[name]
            torch.testing.assert_close(t, expected, rtol=0, atol=1e-7)
        else:  # num_batches_tracked: copied
            assert torch.equal(t, student[name])
    assert model.teacher_detector[1].running_mean[0].item() == \
        pytest.approx((1 - m) * 0 + m * 2.0)


def test_interval_skips_iterations():
    model = ToyTeacherModel()
    with torch.no_grad():
        model.detector[0].weight.add_(1.0)
    before = model.teacher_detector[0].weight.clone()
    hook = EMATrainHook(momentum=0.5, interval=2)
    hook.before_train(SimpleNamespace(model=model))
    hook.after_train_iter(SimpleNamespace(iter=0, model=model), 0)
    assert torch.equal(model.teacher_detector[0].weight, before)
    hook.after_train_iter(SimpleNamespace(iter=1, model=model), 0)
    assert not torch.equal(model.teacher_detector[0].weight, before)


def _runner(work_dir, max_epochs, resume=False, frames=8, accumulate=1):
    return Runner(
        model=ToyTeacherModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyData(frames),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9),
                           accumulative_counts=accumulate),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        custom_hooks=[dict(type='EMATrainHook', momentum=0.2, warm_up=3)],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1)),
        resume=resume,
        randomness=dict(seed=0),
        default_scope='mmdet')


def test_teacher_moves_during_training_and_resume_is_identical(tmp_path):
    straight = _runner(tmp_path / 'a', max_epochs=2)
    start = straight.model.teacher_detector[0].weight.clone()
    straight.train()
    teacher_a = {n: t.clone()
                 for n, t, _ in teacher_student_tensors(straight.model)}
    assert not torch.equal(straight.model.teacher_detector[0].weight, start)

    first = _runner(tmp_path / 'b', max_epochs=1)
    first.train()
    resumed = _runner(tmp_path / 'b', max_epochs=2, resume=True)
    resumed.train()
    assert resumed.iter == straight.iter == 8
    for name, t, _ in teacher_student_tensors(resumed.model):
        torch.testing.assert_close(t, teacher_a[name], rtol=0, atol=1e-6)


@pytest.mark.parametrize('accumulate, frames, steps_at', [
    (1, 6, [0, 1, 2]),
    # k=2: the optimiser steps after iterations 1 and 2 (the last one, with
    # the remainder), so the teacher moves twice, with steps 0 and 1
    (2, 6, [1, 2]),
    (3, 8, [2, 3]),
])
def test_one_update_per_optimiser_step(tmp_path, monkeypatch, accumulate,
                                       frames, steps_at):
    import mmplug.engine.hooks.ema_train_hook as module
    runner = _runner(tmp_path, max_epochs=1, frames=frames,
                     accumulate=accumulate)
    updates, student_steps = [], []
    real_update = module.ema_update_

    def record(pairs, momentum):
        updates.append((runner.iter, momentum))
        real_update(pairs, momentum)

    monkeypatch.setattr(module, 'ema_update_', record)
    weight = []  # the student's weight before each iteration
    runner.register_hook(_StudentWatch(weight, student_steps))
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, EMATrainHook))
    assert updates == [(it, hook.step_momentum(step))
                       for step, it in enumerate(steps_at)]
    assert student_steps == steps_at  # the student moved exactly there


class _StudentWatch(Hook):
    """Records after which iterations the student's weight changed."""

    priority = 'LOWEST'

    def __init__(self, weight, changed):
        self.weight, self.changed = weight, changed

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.weight[:] = [runner.model.detector[0].weight.clone()]

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not torch.equal(self.weight[0], runner.model.detector[0].weight):
            self.changed.append(runner.iter)


def test_needs_a_teacher_model():
    hook = EMATrainHook()
    runner = SimpleNamespace(model=nn.Linear(2, 2))
    with pytest.raises(ValueError, match='needs a model with teacher_'):
        hook.before_train(runner)


@pytest.mark.parametrize('kwargs, match', [
    (dict(momentum=0), r'momentum must be in \(0, 1\]'),
    (dict(momentum=1.5), r'momentum must be in \(0, 1\]'),
    (dict(interval=0), 'interval must be an int >= 1'),
    (dict(warm_up=-1), 'warm_up must be >= 0'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EMATrainHook(**kwargs)
