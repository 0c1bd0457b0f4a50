from .distillation import ROIDistillationLoss, RPNDistillationLoss
from .feature_alignment import FeatureStatsAlignLoss

__all__ = ['RPNDistillationLoss', 'ROIDistillationLoss',
           'FeatureStatsAlignLoss']
