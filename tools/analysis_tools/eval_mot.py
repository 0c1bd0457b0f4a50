"""Evaluate MOTChallenge-format result files with trackeval.

    python tools/analysis_tools/eval_mot.py --gt-dir GT --res-dir RES
        [--benchmark MOT15|MOT16|MOT17|MOT20|DanceTrack] [--out JSON]

GT holds <seq>/gt/gt.txt (and seqinfo.ini); RES holds <seq>.txt. Prints
HOTA, CLEAR and Identity metrics per sequence and combined; --out writes
{"<seq>": {"HOTA": .., "MOTA": .., "IDF1": .., "FP": .., "FN": ..,
"IDSW": .., ...}, "COMBINED": {...}} (scores in percent, counts as ints).
"""
import argparse

from mmplug.evaluation.mot_eval import BENCHMARKS, evaluate_mot, format_table
from mmplug.utils.io import dump_json_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--gt-dir', required=True)
    parser.add_argument('--res-dir', required=True)
    parser.add_argument('--benchmark', choices=BENCHMARKS, default='MOT17')
    parser.add_argument('--out', help='write the metrics as JSON here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    results = evaluate_mot(args.gt_dir, args.res_dir, args.benchmark)
    print(format_table(results))
    if args.out:
        dump_json_atomic(results, args.out, indent=2)


if __name__ == '__main__':
    main()
