"""The embedded domain-shift demo (what `make demo` runs).

    python tools/demo.py [--corruption C] [--severity K] [--work-dir DIR]

Makes the synthetic source / target sets once (cached under --data-root),
trains the source QDTrack, tests it on source val and target val, adapts it
with DARTH on the unlabelled target train split and tests that on target
val, prints a table and writes <work-dir>/summary.json (metrics in percent).
--darth-options passes --cfg-options to the adaptation (ablations).
"""
import argparse

from mmplug.apis.demo import run_demo
from mmplug.datasets.synthetic import CORRUPTIONS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--corruption',
        choices=[c for c in CORRUPTIONS if c != 'none'],
        default='fog',
        help='the target domain shift (default: fog)')
    parser.add_argument('--severity', type=int, choices=range(1, 6),
                        default=4)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/synth',
                        help='where the synthetic sets are cached')
    parser.add_argument(
        '--darth-options',
        nargs='+',
        default=[],
        help='extra --cfg-options for the DARTH adaptation, e.g. '
        'model.with_pcl=False')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    run_demo(args.work_dir, args.corruption, args.severity, args.data_root,
             darth_options=args.darth_options)


if __name__ == '__main__':
    main()
