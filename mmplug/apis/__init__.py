from .config_files import configs_root, get_config_file
from .footage import FrameTracks
from .inference import (ADAPT_MODES, TrackingResult, init_tracker,
                        track_video)
from .runner import (build_runner, load_config, run_test, test,
                     test_cfg_from_args, train, train_cfg_from_args)

__all__ = [
    'build_runner', 'configs_root', 'get_config_file', 'load_config',
    'run_test', 'test', 'test_cfg_from_args', 'train', 'train_cfg_from_args',
    'ADAPT_MODES', 'FrameTracks', 'TrackingResult', 'init_tracker',
    'track_video'
]
