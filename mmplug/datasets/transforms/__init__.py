from .multi_view import MultiViewPipeline

__all__ = ['MultiViewPipeline']
