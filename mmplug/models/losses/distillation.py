"""DARTH's detection-consistency losses: RPN and RoI distillation."""
from typing import Dict, List

from torch import Tensor, nn

from mmdet.registry import MODELS


def _check_weight(loss_weight: float) -> float:
    if not loss_weight >= 0:
        raise ValueError(f'loss_weight must be >= 0, got {loss_weight!r}')
    return float(loss_weight)


def _check_level(level: int, s_cls: Tensor, t_cls: Tensor, s_reg: Tensor,
                 t_reg: Tensor) -> None:
    """Shapes of one RPN level: equal for student and teacher, and 4 box
    deltas per anchor logit (DARTH asserts the latter)."""
    if s_cls.shape != t_cls.shape:
        raise ValueError(f'level {level}: student and teacher cls_scores '
                         f'shapes differ: {tuple(s_cls.shape)} vs '
                         f'{tuple(t_cls.shape)}')
    if s_reg.shape != t_reg.shape:
        raise ValueError(f'level {level}: student and teacher bbox_preds '
                         f'shapes differ: {tuple(s_reg.shape)} vs '
                         f'{tuple(t_reg.shape)}')
    n, a, h, w = s_cls.shape
    if tuple(s_reg.shape) != (n, 4 * a, h, w):
        raise ValueError(f'level {level}: bbox_preds {tuple(s_reg.shape)} '
                         f'does not hold 4 deltas per anchor of cls_scores '
                         f'{tuple(s_cls.shape)} (expected {(n, 4 * a, h, w)})')


@MODELS.register_module()
class RPNDistillationLoss(nn.Module):
    """Student / teacher consistency of raw RPN outputs (DARTH).

    With ``s``, ``t`` the student / teacher objectness logits and ``A`` the
    total number of anchor logits over all levels::

        loss = w * (sum (t - s)^2 + sum_{mask} (t_reg - s_reg)^2) / A,
        mask = (t - s > reg_valid_threshold), repeated for the 4 deltas

    Args:
        loss_weight (float): ``w``. Defaults to 1.0.
        reg_valid_threshold (float): Box deltas count only where the teacher
            logit exceeds the student's by more than this. Defaults to 0.1.
    """

    def __init__(self, loss_weight: float = 1.0,
                 reg_valid_threshold: float = 0.1) -> None:
        super().__init__()
        self.loss_weight = _check_weight(loss_weight)
        self.reg_valid_threshold = float(reg_valid_threshold)

    def forward(self, student: Dict[str, List[Tensor]],
                teacher: Dict[str, List[Tensor]]) -> Tensor:
        """Args:
            student, teacher (dict): ``cls_scores``: per level (N, A, H, W)
                logits; ``bbox_preds``: per level (N, 4A, H, W) deltas,
                anchor-major (the 4 deltas of anchor a at channels 4a..4a+3).

        Returns:
            Tensor: The scalar loss.
        """
        s_cls, t_cls = student['cls_scores'], teacher['cls_scores']
        s_reg, t_reg = student['bbox_preds'], teacher['bbox_preds']
        if not len(s_cls) == len(t_cls) == len(s_reg) == len(t_reg):
            raise ValueError('student and teacher need the same number of '
                             f'levels, got {len(s_cls)} / {len(t_cls)} '
                             f'scores and {len(s_reg)} / {len(t_reg)} deltas')
        for level, shapes in enumerate(zip(s_cls, t_cls, s_reg, t_reg)):
            _check_level(level, *shapes)
        num_anchors = sum(s.numel() for s in s_cls)
        total = s_cls[0].new_zeros(())
        for s, t, sr, tr in zip(s_cls, t_cls, s_reg, t_reg):
            diff = t - s  # (N, A, H, W)
            total = total + diff.pow(2).sum()
            mask = (diff > self.reg_valid_threshold).repeat_interleave(
                4, dim=1)  # (N, A, H, W) -> (N, 4A, H, W)
            total = total + ((tr - sr).pow(2) * mask).sum()
        return self.loss_weight * total / max(num_anchors, 1)


@MODELS.register_module()
class ROIDistillationLoss(nn.Module):
    """Student / teacher consistency of RoI head outputs on the same RoIs.

    Class logits are centred by their mean over classes; with ``K`` the
    number of class-logit elements::

        loss = w * (sum (c(t_cls) - c(s_cls))^2 + sum (t_reg - s_reg)^2) / K

    The inputs are not modified (DARTH centres them in place).

    Args:
        loss_weight (float): ``w``. Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = _check_weight(loss_weight)

    def forward(self, student: Dict[str, Tensor],
                teacher: Dict[str, Tensor]) -> Tensor:
        """Args:
            student, teacher (dict): ``cls_score`` (R, C + 1) logits and
                ``bbox_pred`` (R, 4C) or (R, 4) deltas, on the same R RoIs.

        Returns:
            Tensor: The scalar loss.
        """
        s_cls, t_cls = student['cls_score'], teacher['cls_score']
        if s_cls.shape != t_cls.shape:
            raise ValueError('student and teacher cls_score shapes differ: '
                             f'{tuple(s_cls.shape)} vs {tuple(t_cls.shape)}')
        s_reg, t_reg = student['bbox_pred'], teacher['bbox_pred']
        if s_reg.shape != t_reg.shape:
            raise ValueError('student and teacher bbox_pred shapes differ: '
                             f'{tuple(s_reg.shape)} vs {tuple(t_reg.shape)}')
        if s_reg.shape[0] != s_cls.shape[0]:
            raise ValueError(f'bbox_pred has {s_reg.shape[0]} RoIs, '
                             f'cls_score {s_cls.shape[0]}')
        s_cls = s_cls - s_cls.mean(dim=1, keepdim=True)
        t_cls = t_cls - t_cls.mean(dim=1, keepdim=True)
        total = (t_cls - s_cls).pow(2).sum() + (t_reg - s_reg).pow(2).sum()
        return self.loss_weight * total / max(s_cls.numel(), 1)
