from .distillation import ROIDistillationLoss, RPNDistillationLoss

__all__ = ['RPNDistillationLoss', 'ROIDistillationLoss']
