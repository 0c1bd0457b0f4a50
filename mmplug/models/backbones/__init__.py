from .torchvision_resnet import TorchvisionResNet

__all__ = ['TorchvisionResNet']
