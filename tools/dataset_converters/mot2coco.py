"""Convert a MOTChallenge-layout root to mmdet's COCO-video JSON.

    python tools/dataset_converters/mot2coco.py -i ROOT -o OUT_DIR
        [--split-train] [--classes pedestrian[,car,...]]

ROOT holds split folders of any name (train/, val/, test/, ...), each holding
sequences <seq>/img1/, <seq>/gt/gt.txt, <seq>/seqinfo.ini (MOT17, MOT20,
DanceTrack, the synthetic set). Writes OUT_DIR/<split>_cocoformat.json per
split (plus half-train / half-val of train with --split-train); ROOT is not
modified.
"""
import argparse

from mmplug.datasets.converters import convert_mot_root


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-i', '--input', required=True, help='MOT root')
    parser.add_argument('-o', '--output', required=True, help='output folder')
    parser.add_argument(
        '--split-train',
        action='store_true',
        help='also write half-train / half-val from the train split')
    parser.add_argument(
        '--classes',
        default='pedestrian',
        help='comma-separated names of gt classes 1, 2, ...; rows of other '
        'classes are left out (default: pedestrian)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    classes = [c.strip() for c in args.classes.split(',') if c.strip()]
    for path in convert_mot_root(args.input, args.output, args.split_train,
                                 classes):
        print(f'wrote {path}')


if __name__ == '__main__':
    main()
