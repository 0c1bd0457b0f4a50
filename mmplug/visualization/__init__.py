from .track_gif import comparison_gif, draw_tracks, read_tracks
from .track_visualizer import TrackGTLocalVisualizer

__all__ = [
    'comparison_gif', 'draw_tracks', 'read_tracks', 'TrackGTLocalVisualizer'
]
