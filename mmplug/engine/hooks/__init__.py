from .ema_train_hook import EMATrainHook
from .rng_state_hook import RNGStateHook
from .source_checkpoint_hook import SourceCheckpointHook

__all__ = ['EMATrainHook', 'RNGStateHook', 'SourceCheckpointHook']
