from .frozen_bn import FrozenBatchNorm2d, convert_frozen_batchnorm

__all__ = ['FrozenBatchNorm2d', 'convert_frozen_batchnorm']
