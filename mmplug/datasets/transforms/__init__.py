from .loading import LoadCheckedImageFromFile, check_image_bytes
from .multi_view import MultiViewPipeline

__all__ = ['MultiViewPipeline', 'LoadCheckedImageFromFile',
           'check_image_bytes']
