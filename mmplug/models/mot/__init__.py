from .darth_qdtrack import DARTHQDTrack
from .kd_qdtrack import KDQDTrack
from .qdtrack import MultiClassQDTrack, class_agnostic_sample
from .teacher_qdtrack import TeacherQDTrack

__all__ = [
    'MultiClassQDTrack', 'class_agnostic_sample', 'TeacherQDTrack',
    'KDQDTrack', 'DARTHQDTrack'
]
