from .mot_eval import evaluate_mot, format_table

__all__ = ['evaluate_mot', 'format_table']
