from .mot import MOTFormatError, convert_mot_root, parse_gt_file

__all__ = ['MOTFormatError', 'convert_mot_root', 'parse_gt_file']
