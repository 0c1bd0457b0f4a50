from .mot_eval import evaluate_mot, format_table
from .video_mot_metric import VideoMOTChallengeMetric, sequence_name

__all__ = ['evaluate_mot', 'format_table', 'VideoMOTChallengeMetric',
           'sequence_name']
