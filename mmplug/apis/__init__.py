from .runner import (build_runner, load_config, run_test, test_cfg_from_args,
                     train_cfg_from_args)

__all__ = [
    'build_runner', 'load_config', 'run_test', 'test_cfg_from_args',
    'train_cfg_from_args'
]
