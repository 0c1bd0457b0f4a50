"""Write an ImageNet-C corrupted copy of a MOTChallenge-layout root.

    python tools/dataset_converters/corrupt_mot.py -i ROOT -o OUT
        --corruption NAME --severity K [--seed S] [--workers N]
        [--splits train,val] [--split-train] [--classes pedestrian,...]

Every image is corrupted at its own size (deterministic per seed, sequence
and frame), gt/ and seqinfo.ini are copied, and OUT/annotations/
<split>_cocoformat.json are written as mot2coco.py does. ROOT is only read.
Each sequence is written atomically: rerun a killed run to resume it.
Names: the 15 ImageNet-C corruptions (noise, blur, weather, digital) and
the 4 validation ones (speckle_noise, gaussian_blur, spatter, saturate).
"""
import argparse

from tqdm import tqdm

from mmplug.datasets.converters.corrupt_mot import corrupt_mot_root
from mmplug.datasets.corruptions import CORRUPTIONS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-i', '--input', required=True, help='MOT root')
    parser.add_argument('-o', '--output', required=True,
                        help='output root (resumed if interrupted)')
    parser.add_argument('--corruption', required=True, choices=CORRUPTIONS,
                        metavar='NAME',
                        help='one of: ' + ', '.join(CORRUPTIONS))
    parser.add_argument('--severity', type=int, required=True,
                        choices=range(1, 6), metavar='K', help='1..5')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--splits', help='comma-separated split folders '
                        '(default: all)')
    parser.add_argument('--split-train', action='store_true',
                        help='also write half-train / half-val annotations')
    parser.add_argument('--classes', default='pedestrian',
                        help='comma-separated gt class names (as mot2coco)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    bar = tqdm(unit='frame', desc=f'{args.corruption}-{args.severity}')

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)

    splits = args.splits.split(',') if args.splits else None
    classes = [c for c in args.classes.split(',') if c]
    written = corrupt_mot_root(args.input, args.output, args.corruption,
                               args.severity, args.seed, args.workers,
                               splits, args.split_train, classes, progress)
    bar.close()
    for path in written:
        print(f'wrote {path}')


if __name__ == '__main__':
    main()
