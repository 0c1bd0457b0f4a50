from .bn_stats import estimate_bn_stats, norm_layers
from .box_projection import project_instances
from .ema import ema_update_

__all__ = [
    'estimate_bn_stats', 'norm_layers', 'project_instances', 'ema_update_'
]
