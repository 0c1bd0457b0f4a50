"""Convert an mmtrack 0.x QDTrack or DARTH checkpoint for mmplug.

    python tools/model_converters/mmtrack2mmplug.py IN OUT [--config CFG]

Loads IN safely (weights_only), keeps the weights (teacher_* included),
drops the optimiser and mmcv 1.x meta, keeps the class names, and with
--config checks the keys against that config's model: when any is missing
or cannot be mapped it lists them, writes nothing and exits with 1. OUT is
written atomically.
"""
import argparse
import os
import os.path as osp
import sys

import torch

from mmplug.models.utils.checkpoint_conversion import convert_checkpoint
from mmplug.utils.checkpoint import safe_load
from mmplug.utils.io import make_temp_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('input', help='mmtrack 0.x / DARTH checkpoint')
    parser.add_argument('output', help='mmplug checkpoint to write')
    parser.add_argument('--config', help='mmplug config whose model the '
                        'converted keys must match')
    return parser.parse_args(argv)


def _expected_keys(config):
    from mmengine.config import Config

    import mmplug  # noqa: F401
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    return MODELS.build(Config.fromfile(config).model).state_dict().keys()


def main(argv=None):
    args = parse_args(argv)
    checkpoint = safe_load(args.input, map_location='cpu')
    expected = _expected_keys(args.config) if args.config else None
    out, missing, unexpected = convert_checkpoint(checkpoint, expected)
    for name, keys in (('missing in the checkpoint', missing),
                       ('not in the model (cannot map)', unexpected)):
        if keys:
            print(f'{len(keys)} keys {name}:', file=sys.stderr)
            for key in keys:
                print(f'  {key}', file=sys.stderr)
    if missing or unexpected:
        print(f'{args.output} not written: the checkpoint does not fit '
              f'{args.config}', file=sys.stderr)
        sys.exit(1)
    folder = osp.dirname(osp.abspath(args.output))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = make_temp_file(folder, suffix='.pth')
    os.close(fd)
    torch.save(out, tmp)
    os.replace(tmp, args.output)
    print(f'wrote {args.output} ({len(out["state_dict"])} tensors)')


if __name__ == '__main__':
    main()
