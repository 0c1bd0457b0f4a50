from .ema_train_hook import EMATrainHook
from .rng_state_hook import RNGStateHook

__all__ = ['EMATrainHook', 'RNGStateHook']
