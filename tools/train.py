"""Train a model from a config with mmengine's Runner (as mmdet's train.py).

    python tools/train.py CONFIG [--work-dir DIR] [--cfg-options K=V ...]
        [--allow-new-keys] [--resume [CKPT]] [--amp] [--auto-scale-lr]
        [--launcher {none,pytorch,slurm,mpi}]
"""
import argparse
import os

from mmengine.config import DictAction

from mmplug.apis import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a tracker')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr linearly from auto_scale_lr.base_batch_size to '
        'the actual total batch (processes x batch size), as mmdet does')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work '
        'dir when no path is given')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. model.detector.backbone.depth=18; '
        'a key not in the config is an error unless --allow-new-keys')
    parser.add_argument(
        '--allow-new-keys',
        action='store_true',
        help='let --cfg-options add keys that the config does not have')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    train(args.config, args.work_dir, args.cfg_options, args.resume,
          args.amp, args.auto_scale_lr, args.allow_new_keys, args.launcher)


if __name__ == '__main__':
    main()
