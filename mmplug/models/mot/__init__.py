from .qdtrack import MultiClassQDTrack, class_agnostic_sample

__all__ = ['MultiClassQDTrack', 'class_agnostic_sample']
