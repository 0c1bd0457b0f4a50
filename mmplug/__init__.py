"""mmplug: test-time adaptive multi-object tracking on MMDetection 3.x.

Importing the package registers every mmplug module into mmdet's (and, for
norm layers, mmengine's) registries, as ``custom_imports`` in the configs
does, and allows the types that mmengine checkpoints hold in torch's safe
(``weights_only``) loader.
"""
from . import (datasets, engine, evaluation, models,  # noqa: F401 (registers)
               utils, visualization)
from .apis.config_files import configs_root, get_config_file
from .utils.checkpoint import register_safe_globals
from .version import __version__

register_safe_globals()

__all__ = ['__version__', 'configs_root', 'get_config_file']
