from .checkpoint import register_safe_globals
from .config import check_cfg_options, flatten_metrics, merge_cfg_options
from .io import dump_json_atomic

__all__ = [
    'register_safe_globals', 'check_cfg_options', 'flatten_metrics',
    'merge_cfg_options', 'dump_json_atomic'
]
