from .converters import convert_mot_root, parse_gt_file
from .corruptions import CORRUPTIONS, corrupt_frame, corrupt_image
from .synthetic import make_synthetic_mot
from .transforms import MultiViewPipeline
from .unlabeled_video_dataset import UnlabeledVideoDataset

__all__ = [
    'CORRUPTIONS', 'corrupt_frame', 'corrupt_image', 'make_synthetic_mot',
    'convert_mot_root', 'parse_gt_file', 'MultiViewPipeline',
    'UnlabeledVideoDataset'
]
