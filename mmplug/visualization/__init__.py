from .track_gif import comparison_gif, draw_tracks, read_tracks

__all__ = ['comparison_gif', 'draw_tracks', 'read_tracks']
