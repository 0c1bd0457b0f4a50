"""Convert BDD100K box-tracking labels (scalabel per-video JSON) to mmdet's
COCO-video JSON.

    python tools/dataset_converters/bdd2coco.py -i LABELS_DIR -o OUT.json
"""
import argparse

from mmplug.datasets.converters.bdd import convert_bdd_labels


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-i', '--input', required=True,
                        help='folder of per-video scalabel JSON files')
    parser.add_argument('-o', '--output', required=True, help='output JSON')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    counts = convert_bdd_labels(args.input, args.output)
    print(f'wrote {args.output}: ' +
          ', '.join(f'{v} {k}' for k, v in counts.items()))


if __name__ == '__main__':
    main()
