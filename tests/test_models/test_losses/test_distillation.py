import numpy as np
import pytest
import torch

from mmdet.registry import MODELS
from mmplug.models.losses import ROIDistillationLoss, RPNDistillationLoss


def _rpn_outputs(seed, shapes=((2, 3, 8, 10), (2, 3, 4, 5))):
    gen = torch.Generator().manual_seed(seed)
    cls = [torch.randn(s, generator=gen) for s in shapes]
    reg = [torch.randn(n, 4 * a, h, w, generator=gen)
           for n, a, h, w in shapes]
    return dict(cls_scores=cls, bbox_preds=reg)


def _rpn_reference(student, teacher, thr, weight):
    """Loop over every anchor, in numpy: the formula as written."""
    num, total = 0, 0.0
    for s_c, t_c, s_r, t_r in zip(student['cls_scores'],
                                  teacher['cls_scores'],
                                  student['bbox_preds'],
                                  teacher['bbox_preds']):
        s_c, t_c = s_c.numpy().astype(np.float64), t_c.numpy()
        s_r, t_r = s_r.numpy().astype(np.float64), t_r.numpy()
        n, a, h, w = s_c.shape
        for i in range(n):
            for k in range(a):
                for y in range(h):
                    for x in range(w):
                        num += 1
                        d = t_c[i, k, y, x] - s_c[i, k, y, x]
                        total += d * d
                        if d > thr:
                            for j in range(4):
                                e = t_r[i, 4 * k + j, y, x] - \
                                    s_r[i, 4 * k + j, y, x]
                                total += e * e
    return weight * total / num


def _roi_reference(student, teacher, weight):
    s_c = student['cls_score'].numpy().astype(np.float64)
    t_c = teacher['cls_score'].numpy().astype(np.float64)
    s_c = s_c - s_c.mean(axis=1, keepdims=True)
    t_c = t_c - t_c.mean(axis=1, keepdims=True)
    reg = (teacher['bbox_pred'].numpy().astype(np.float64) -
           student['bbox_pred'].numpy())
    return weight * (((t_c - s_c)**2).sum() + (reg**2).sum()) / s_c.size


def test_registry_build():
    assert isinstance(MODELS.build(dict(type='RPNDistillationLoss')),
                      RPNDistillationLoss)
    assert isinstance(MODELS.build(dict(type='ROIDistillationLoss')),
                      ROIDistillationLoss)


@pytest.mark.parametrize('thr, weight', [(0.1, 0.1), (-10.0, 1.0),
                                         (10.0, 2.0)])
def test_rpn_matches_reference(thr, weight):
    student, teacher = _rpn_outputs(0), _rpn_outputs(1)
    loss = RPNDistillationLoss(weight, reg_valid_threshold=thr)(student,
                                                                teacher)
    assert loss.dim() == 0
    ref = _rpn_reference(student, teacher, thr, weight)
    assert loss.item() == pytest.approx(ref, rel=1e-5)


def test_rpn_golden_value():
    loss = RPNDistillationLoss(0.1, 0.1)(_rpn_outputs(0), _rpn_outputs(1))
    assert loss.item() == pytest.approx(0.56676, abs=1e-4)


def test_rpn_zero_when_equal_and_gradient_to_student_only():
    student = _rpn_outputs(3)
    for t in student['cls_scores'] + student['bbox_preds']:
        t.requires_grad_(True)
    teacher = {k: [t.detach().clone() for t in v]
               for k, v in student.items()}
    loss = RPNDistillationLoss()(student, teacher)
    assert loss.item() == 0
    loss.backward()
    assert student['cls_scores'][0].grad is not None


def test_roi_matches_reference_and_leaves_inputs():
    gen = torch.Generator().manual_seed(4)
    student = dict(cls_score=torch.randn(7, 3, generator=gen),
                   bbox_pred=torch.randn(7, 8, generator=gen))
    teacher = dict(cls_score=torch.randn(7, 3, generator=gen),
                   bbox_pred=torch.randn(7, 8, generator=gen))
    copies = {k: v.clone() for k, v in {**student}.items()}
    t_copies = {k: v.clone() for k, v in teacher.items()}
    loss = ROIDistillationLoss(0.1)(student, teacher)
    assert loss.item() == pytest.approx(
        _roi_reference(student, teacher, 0.1), rel=1e-5)
    assert loss.item() == pytest.approx(0.89396, abs=1e-4)
    for k in copies:  # not modified in place (DARTH centres in place)
        assert torch.equal(student[k], copies[k])
        assert torch.equal(teacher[k], t_copies[k])


def test_roi_zero_when_equal_and_invariant_to_logit_shift():
    gen = torch.Generator().manual_seed(5)
    out = dict(cls_score=torch.randn(4, 2, generator=gen),
               bbox_pred=torch.randn(4, 4, generator=gen))
    assert ROIDistillationLoss()(out, out).item() == 0
    shifted = dict(cls_score=out['cls_score'] + 3.0,
                   bbox_pred=out['bbox_pred'])
    loss = ROIDistillationLoss()(shifted, out).item()
    assert loss == pytest.approx(0, abs=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match='loss_weight must be >= 0'):
        RPNDistillationLoss(loss_weight=-1)
    with pytest.raises(ValueError, match='loss_weight must be >= 0'):
        ROIDistillationLoss(loss_weight=-0.5)
    with pytest.raises(ValueError, match='same number of levels'):
        s, t = _rpn_outputs(0), _rpn_outputs(1)
        t['cls_scores'] = t['cls_scores'][:1]
        RPNDistillationLoss()(s, t)
    with pytest.raises(ValueError, match='cls_score shapes differ'):
        ROIDistillationLoss()(
            dict(cls_score=torch.zeros(2, 3), bbox_pred=torch.zeros(2, 4)),
            dict(cls_score=torch.zeros(2, 4), bbox_pred=torch.zeros(2, 4)))


@pytest.mark.parametrize('field, level, shape, match', [
    ('cls_scores', 1, (2, 3, 4, 6), r'level 1: student and teacher '
     r'cls_scores shapes differ: \(2, 3, 4, 6\) vs \(2, 3, 4, 5\)'),
    ('bbox_preds', 0, (2, 12, 8, 9), r'level 0: student and teacher '
     r'bbox_preds shapes differ'),
])
def test_rpn_names_the_level_whose_shapes_differ(field, level, shape, match):
    student, teacher = _rpn_outputs(0), _rpn_outputs(1)
    student[field][level] = torch.zeros(shape)
    with pytest.raises(ValueError, match=match):
        RPNDistillationLoss()(student, teacher)


def test_rpn_needs_four_deltas_per_anchor():
    student, teacher = _rpn_outputs(0), _rpn_outputs(1)
    for out in (student, teacher):  # equal, but 3 deltas per anchor
        out['bbox_preds'][1] = torch.zeros(2, 9, 4, 5)
    with pytest.raises(ValueError, match=r'level 1: bbox_preds \(2, 9, 4, '
                       r'5\) does not hold 4 deltas per anchor'):
        RPNDistillationLoss()(student, teacher)


def test_roi_names_bbox_pred_shape_mismatch():
    with pytest.raises(ValueError, match=r'bbox_pred shapes differ: \(2, 4\)'
                       r' vs \(2, 8\)'):
        ROIDistillationLoss()(
            dict(cls_score=torch.zeros(2, 3), bbox_pred=torch.zeros(2, 4)),
            dict(cls_score=torch.zeros(2, 3), bbox_pred=torch.zeros(2, 8)))
    with pytest.raises(ValueError, match='bbox_pred has 3 RoIs, cls_score 2'):
        ROIDistillationLoss()(
            dict(cls_score=torch.zeros(2, 3), bbox_pred=torch.zeros(3, 4)),
            dict(cls_score=torch.zeros(2, 3), bbox_pred=torch.zeros(3, 4)))
