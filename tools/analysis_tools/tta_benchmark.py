"""Robustness sweep: ImageNet-C shifts x adaptation methods x seeds.

    python tools/analysis_tools/tta_benchmark.py [--data-root ROOT]
        [--corruptions LIST|all|validation|noise|blur|weather|digital]
        [--severities 3] [--methods source,adabn,darth] [--seeds 0,1,2]
        [--work-dir DIR] [--darth-options K=V ...] [--quick]

Default: the embedded synthetic set, 6 corruptions (gaussian_noise,
defocus_blur, motion_blur, snow, frost, contrast), severity 3, methods
source,adabn,darth, seed 0. With --data-root, ROOT is any clean
MOTChallenge-layout root converted by mot2coco.py: its corrupted copies are
made once under ROOT-C/<corruption>-<severity> (corrupt_mot.py), a source
model is trained per seed on --source-split of --source-root (default
ROOT) unless --source-checkpoint is given, and every method adapts on the
unlabelled --adapt-split of each corrupted copy and is tested on its
--test-split. Writes DIR/results.json, results.md and results.png; finished
cells are reused when everything that determines them is the same (configs,
options, data, checkpoints, code), so a killed sweep continues where it
stopped and a changed input recomputes only the cells it touches. An
adaptation split that shares frames with the test split is refused unless
--transductive (DARTH's protocol adapts on its test set).
"""
import argparse

from mmplug.apis.experiment import METHODS, MIN_SOURCE_HOTA, Configs
from mmplug.apis.robustness_sweep import (DEFAULT_CORRUPTIONS,
                                          DEFAULT_METHODS, run_sweep)
from mmplug.datasets.corruptions import COMMON, FAMILIES


def corruption_list(text):
    names = []
    for item in text.split(','):
        item = item.strip()
        if item == 'all':
            names += COMMON
        elif item in FAMILIES:
            names += FAMILIES[item]
        elif item:
            names.append(item)
    return list(dict.fromkeys(names))


def _ints(text):
    return [int(v) for v in text.split(',') if v.strip()]


def parse_args(argv=None):
    defaults = Configs()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', help='clean target root (default: '
                        'the embedded synthetic set)')
    parser.add_argument('--source-root', help='labelled source root '
                        '(default: --data-root)')
    parser.add_argument('--corruptions', type=corruption_list,
                        default=list(DEFAULT_CORRUPTIONS),
                        help='comma-separated names, families, `all` (the '
                        '15 test corruptions), `validation` (the 4 extra) '
                        'or `none` (the clean data: a reference row, not '
                        'in the mean)')
    parser.add_argument('--severities', type=_ints, default=[3])
    parser.add_argument('--methods', default=','.join(DEFAULT_METHODS),
                        help='comma-separated, of: ' + ', '.join(METHODS))
    parser.add_argument('--seeds', type=_ints, default=[0])
    parser.add_argument('--work-dir', default='work_dirs/tta_benchmark')
    parser.add_argument('--source-checkpoint',
                        help='use this source model (then a seed changes '
                        'only the adaptation)')
    for name in ('source', 'darth', 'adabn', 'online'):
        parser.add_argument(f'--{name}-config',
                            default=getattr(defaults, name))
    parser.add_argument('--source-split', default='train')
    parser.add_argument('--adapt-split', default='train')
    parser.add_argument('--test-split', default='val')
    parser.add_argument('--workers', type=int, default=1,
                        help='processes corrupting the data')
    parser.add_argument(
        '--darth-options', nargs='+', default=[],
        help='extra --cfg-options of the offline DARTH runs, e.g. '
        'train_cfg.max_epochs=1 (a shorter schedule)')
    parser.add_argument(
        '--min-source-hota', type=float, default=MIN_SOURCE_HOTA,
        help='stop when a source model reaches less HOTA on the clean test '
        'split of the source root (a collapsed training; default: '
        '%(default)s)')
    parser.add_argument(
        '--transductive', action='store_true',
        help='allow an --adapt-split that shares frames with --test-split '
        '(adapting on the test set, as DARTH does); recorded in '
        'results.json')
    parser.add_argument('--quick', action='store_true',
                        help='tiny synthetic data and no dataloader '
                        'workers (tests)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    configs = Configs(args.source_config, args.darth_config,
                      args.adabn_config, args.online_config)
    run_sweep(args.work_dir, args.corruptions, args.severities,
              [m for m in args.methods.split(',') if m], args.seeds,
              args.data_root, args.source_root, configs, args.source_split,
              args.adapt_split, args.test_split, args.source_checkpoint,
              args.quick, args.workers, args.darth_options,
              args.min_source_hota, args.transductive)


if __name__ == '__main__':
    main()
