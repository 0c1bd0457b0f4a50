"""Random-number-generator state in checkpoints, for exact resume."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mmdet.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the python / numpy / torch RNG states with every checkpoint and
    restore them on resume.

    mmengine re-seeds a resumed run from ``randomness.seed``, so the random
    choices after a resume (proposal sampling, augmentation in the main
    process) differ from an uninterrupted run. With the states restored, a
    run killed after a checkpoint and resumed ends with the same weights
    (on CPU, with ``num_workers=0`` or non-persistent workers, whose seeds
    mmengine derives from the seed alone).
    """

    priority = 'VERY_LOW'
    KEY = 'rng_state'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(python=random.getstate(), numpy=np.random.get_state(),
                     torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint[self.KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(self.KEY)
        if state is None or not runner._resume:
            return  # load_from (not resume) keeps the run's own seeding
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
