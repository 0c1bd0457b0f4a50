from .adabn_loop import AdaBNLoop
from .adaptation_loop import AdaptationTrainLoop
from .online_adaptation_loop import OnlineAdaptationTestLoop

__all__ = ['AdaBNLoop', 'AdaptationTrainLoop', 'OnlineAdaptationTestLoop']
