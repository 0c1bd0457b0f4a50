"""Median training-step time of DARTH adaptation vs. QDTrack training.

    python tools/analysis_tools/benchmark.py [--checkpoint SOURCE.pth]
        [--iters 20] [--warmup 3] [--batch-size 2] [--device cpu]

Interleaves the two kinds of step in one run at equal batch size and
resolution (see mmplug/apis/benchmark.py) on the synthetic demo data, and
prints `darth_step/qdtrack_step = X.XX` as its last line.
"""
import argparse
import os.path as osp

from mmengine.config import Config

from mmplug.apis.benchmark import benchmark
from mmplug.apis.demo import DARTH_CONFIG, SOURCE_CONFIG, make_data


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--checkpoint',
        default='work_dirs/demo/source/epoch_6.pth',
        help='source QDTrack checkpoint both models start from '
        '(default: the one `make demo` trains)')
    parser.add_argument('--data-root', default='data/synth')
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint {args.checkpoint} does not exist: run `make demo` '
            'first or pass --checkpoint')
    roots = make_data(args.data_root, 'fog', 4)
    source_cfg = Config.fromfile(SOURCE_CONFIG)
    darth_cfg = Config.fromfile(DARTH_CONFIG)
    source_cfg.train_dataloader.dataset.data_root = roots['source'] + '/'
    darth_cfg.train_dataloader.dataset.data_root = roots['target'] + '/'
    result = benchmark(source_cfg, darth_cfg, args.checkpoint, args.iters,
                       args.warmup, args.batch_size, args.device)
    print(f'device: {args.device}, batch {args.batch_size}, 192 px, '
          f'{args.iters} timed steps each (after {args.warmup} warm-up)')
    print(f'qdtrack_step median: {result["qdtrack_step_s"]:.3f} s')
    print(f'darth_step median:   {result["darth_step_s"]:.3f} s')
    print(f'darth_step/qdtrack_step = {result["ratio"]:.2f}')


if __name__ == '__main__':
    main()
