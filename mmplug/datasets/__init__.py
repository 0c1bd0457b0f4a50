from .converters import convert_mot_root, parse_gt_file
from .synthetic import CORRUPTIONS, corrupt, make_synthetic_mot

__all__ = [
    'CORRUPTIONS', 'corrupt', 'make_synthetic_mot', 'convert_mot_root',
    'parse_gt_file'
]
