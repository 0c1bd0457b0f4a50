"""Test a checkpoint and write <work-dir>/metrics.json (as mmdet's test.py).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--cfg-options K=V ...] [--allow-new-keys] [--show-dir DIR]
        [--out-dir DIR [--format-only]] [--launcher {none,pytorch,slurm,mpi}]
        [--allow-missing]

--out-dir keeps the tracks as MOTChallenge files DIR/default-tracker/<seq>.txt
(for tools/analysis_tools/eval_mot.py); --format-only skips evaluation.
"""
import argparse
import json
import os

from mmengine.config import DictAction

from mmplug.apis import test


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a '
                                     'tracker checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='where logs and metrics.json are written')
    parser.add_argument(
        '--show-dir',
        help='write frames with boxes, track ids and classes to this folder')
    parser.add_argument(
        '--out-dir',
        help='write the tracks as MOTChallenge files to '
        'DIR/default-tracker/<seq>.txt (DIR must be new or empty)')
    parser.add_argument(
        '--format-only',
        action='store_true',
        help='with --out-dir: only write the files, do not evaluate')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys; a key not in the config is an error '
        'unless --allow-new-keys')
    parser.add_argument(
        '--allow-new-keys',
        action='store_true',
        help='let --cfg-options add keys that the config does not have')
    parser.add_argument(
        '--allow-missing',
        action='store_true',
        help='test even when the checkpoint misses weights of the model '
        '(they keep their random initial values)')
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
    metrics = test(args.config, args.checkpoint, args.work_dir,
                   args.cfg_options, args.allow_new_keys, args.show_dir,
                   args.out_dir, args.format_only, args.launcher,
                   args.allow_missing)
    print(json.dumps(metrics, indent=2))


if __name__ == '__main__':
    main()
