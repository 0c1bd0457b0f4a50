from .loading import LoadCheckedImageFromFile, check_image_bytes
from .multi_view import (MultiViewPipeline, PackMultiViewInputs,
                         ViewRejectedError)
from .track_and_adapt import TrackAndAdaptInputs

__all__ = [
    'MultiViewPipeline', 'PackMultiViewInputs', 'ViewRejectedError',
    'LoadCheckedImageFromFile', 'check_image_bytes', 'TrackAndAdaptInputs'
]
