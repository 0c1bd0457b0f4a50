"""The embedded domain-shift demo (what `make demo` runs).

    python tools/demo.py [--corruption NAME] [--severity K] [--seeds 0,1,2]
        [--methods adabn,darth,darth-online] [--work-dir DIR] [--quick]

Makes the synthetic source / target sets once (cached under --data-root),
then per seed: trains the source QDTrack, tests it on source val and target
val, adapts it to the unlabelled target frames with each method (AdaBN,
offline DARTH, online DARTH) and tests that on target val. Prints a table
and writes <work-dir>/summary.json: per model / eval set and metric the
mean and standard deviation over the seeds (percent). Finished runs are
reused when everything that determines them is the same (an interrupted
demo continues where it stopped; another corruption in the same work dir
reuses the source model and computes the target runs anew).
"""
import argparse

from mmplug.apis.demo import DEMO_METHODS, run_demo
from mmplug.apis.experiment import METHODS, MIN_SOURCE_HOTA
from mmplug.datasets.corruptions import CORRUPTIONS


def _ints(text):
    return [int(v) for v in text.split(',') if v.strip()]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--corruption', choices=CORRUPTIONS, default='fog', metavar='NAME',
        help='the target domain shift, an ImageNet-C corruption (default: '
        'fog): ' + ', '.join(CORRUPTIONS))
    parser.add_argument('--severity', type=int, choices=range(1, 6),
                        default=3)
    parser.add_argument('--seeds', type=_ints, default=[0],
                        help='comma-separated seeds (default: 0); each '
                        'trains its own source model')
    parser.add_argument(
        '--methods', default=','.join(DEMO_METHODS),
        help='comma-separated adaptation methods, of: ' +
        ', '.join(m for m in METHODS if m != 'source'))
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root',
                        help='where the synthetic sets are cached (default: '
                        'data/synth; --quick: WORK_DIR/data)')
    parser.add_argument(
        '--darth-options',
        nargs='+',
        default=[],
        help='extra --cfg-options for the DARTH runs, e.g. '
        'model.with_pcl=False')
    parser.add_argument('--quick', action='store_true',
                        help='tiny synthetic data and no dataloader '
                        'workers (tests; its source model tracks nothing: '
                        'add --min-source-hota 0)')
    parser.add_argument(
        '--min-source-hota', type=float, default=MIN_SOURCE_HOTA,
        help='stop when the source model reaches less HOTA on the clean '
        'source val set (a collapsed training; default: %(default)s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    run_demo(args.work_dir, args.corruption, args.severity, args.data_root,
             args.seeds, [m for m in args.methods.split(',') if m],
             args.darth_options, args.quick, args.min_source_hota)


if __name__ == '__main__':
    main()
