"""Write a synthetic MOT data set in the MOTChallenge layout.

    python tools/dataset_converters/make_synthetic_mot.py --out DIR
        --num-videos N --frames F --size S
        --corruption {none,<an ImageNet-C corruption>} --severity 1..5
        --seed K [--num-classes {1,2}]

The same --seed gives the same videos under every corruption; the
corruptions are the 19 of ImageNet-C (tools/dataset_converters/
corrupt_mot.py lists them), deterministic per seed, video and frame.
"""
import argparse
import sys

from mmplug.datasets.synthetic import CORRUPTIONS, make_synthetic_mot


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--num-videos', type=int, default=4)
    parser.add_argument('--frames', type=int, default=40)
    parser.add_argument('--size', type=int, default=192,
                        help='frame width and height in pixels')
    parser.add_argument('--corruption', choices=CORRUPTIONS, default='none',
                        metavar='NAME', help='none or one of: ' +
                        ', '.join(CORRUPTIONS[1:]))
    parser.add_argument('--severity', type=int, choices=range(1, 6),
                        default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-classes', type=int, choices=(1, 2), default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    def progress(done, total):
        print(f'\r{args.out}: {done}/{total} videos', end='', file=sys.stderr)

    names = make_synthetic_mot(args.out, args.num_videos, args.frames,
                               args.size, args.corruption, args.severity,
                               args.seed, args.num_classes, progress)
    print(f'\nwrote {len(names)} sequences to {args.out}', file=sys.stderr)


if __name__ == '__main__':
    main()
