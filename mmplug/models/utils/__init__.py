from .box_projection import project_instances
from .ema import ema_update_

__all__ = ['project_instances', 'ema_update_']
