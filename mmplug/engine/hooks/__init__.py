from .ema_train_hook import EMATrainHook

__all__ = ['EMATrainHook']
