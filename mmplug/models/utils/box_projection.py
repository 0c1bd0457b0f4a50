"""Projection of pseudo boxes from the pseudo-label view into other views."""
from typing import Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet.structures.bbox import bbox_project


def project_instances(instances: InstanceData, homography: Tensor,
                      img_shape: Tuple[int, int],
                      min_visible: float = 0.3,
                      min_size: float = 2.0) -> InstanceData:
    """Project boxes (and keep their labels / ids) into another view.

    The one rule for boxes that the view's crop cuts or removes: a projected
    box is clipped to the view's image ``(0, 0, w, h)`` and kept only if at
    least ``min_visible`` of its projected area lies inside the image and the
    clipped box is at least ``min_size`` pixels wide and high. Flips, resizes
    and crops are axis-aligned, so the projection of a box is exact.

    Args:
        instances (InstanceData): ``bboxes`` (n, 4) in the source view, plus
            any per-instance fields (``labels``, ``instances_ids``, ...).
        homography (Tensor): (3, 3) source -> target view.
        img_shape (tuple[int, int]): (h, w) of the target view's image
            (without padding).
        min_visible (float): Kept fraction of the projected area.
        min_size (float): Minimum clipped width and height in pixels.

    Returns:
        InstanceData: The kept instances with projected, clipped boxes.
    """
    if not 0 <= min_visible <= 1:
        raise ValueError(f'min_visible must be in [0, 1], got {min_visible}')
    if len(instances) == 0:
        return instances
    homography = homography.to(instances.bboxes)
    projected = bbox_project(instances.bboxes, homography)  # (n, 4)
    h, w = img_shape
    clipped = torch.stack([
        projected[:, 0].clamp(0, w), projected[:, 1].clamp(0, h),
        projected[:, 2].clamp(0, w), projected[:, 3].clamp(0, h)
    ], dim=1)
    area = _area(projected)
    kept_wh = clipped[:, 2:] - clipped[:, :2]
    keep = (_area(clipped) >= min_visible * area) & \
        (kept_wh >= min_size).all(dim=1) & (area > 0)
    out = instances[keep]
    out.bboxes = clipped[keep]
    return out


def _area(boxes: Tensor) -> Tensor:
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * \
        (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
