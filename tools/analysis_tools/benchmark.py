"""Median training-step time of DARTH adaptation vs. QDTrack training.

    python tools/analysis_tools/benchmark.py [--preset synth|r50]
        [--checkpoint SOURCE.pth | --random-weights] [--iters 20]
        [--warmup 3] [--batch-size 2] [--device cpu|cuda] [--amp]
        [--frame-size 1920x1080] [--out result.json]

Interleaves the two kinds of step in one run at equal batch size and
resolution (see mmplug/apis/step_benchmark.py) and prints
`darth_step/qdtrack_step = X.XX` as its last line; on CUDA also the peak
GPU memory of each step.

- `--preset synth` (default on CPU): the CPU synthetic configs on the demo's
  data, from the source model `make demo` trains (or random weights);
- `--preset r50` (default on CUDA): the R50-FPN MOT17 configs at their real
  resolution: synthetic frames resized to MOT17's 1920 x 1080 on loading,
  then the configs' own 1088 px pipelines; random weights unless
  --checkpoint (no data set or weights to download).
"""
import argparse
import json
import os.path as osp
import tempfile

from mmplug.apis.demo import demo_source_checkpoint
from mmplug.apis.step_benchmark import (PRESETS, benchmark, preset_configs,
                                        random_source_checkpoint)

DEMO_WORK_DIR = 'work_dirs/demo'


def frame_size(text):
    try:
        w, h = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--frame-size must be WxH, e.g. 1920x1080, got {text!r}')
    return w, h


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--preset', choices=tuple(PRESETS),
                        help='default: synth on CPU, r50 on CUDA')
    parser.add_argument(
        '--checkpoint',
        help='source QDTrack checkpoint both models start from (default: '
        'synth: the seed-0 source model of the demo in '
        f'{DEMO_WORK_DIR} (`make demo`); r50: random weights)')
    parser.add_argument('--random-weights', action='store_true',
                        help='start from seeded random weights')
    parser.add_argument('--data-root', default='data/synth')
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision, as tools/train.py --amp')
    parser.add_argument('--frame-size', type=frame_size,
                        help='resize loaded frames to WxH first (r50: '
                        '1920x1080)')
    parser.add_argument('--out', help='also write the numbers as JSON')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    preset = args.preset or ('r50' if args.device.startswith('cuda')
                             else 'synth')
    source_cfg, darth_cfg = preset_configs(preset, args.data_root,
                                           args.frame_size)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if checkpoint is None and preset == 'synth' and \
                not args.random_weights:
            checkpoint = demo_source_checkpoint(DEMO_WORK_DIR)
        if checkpoint is None or args.random_weights:
            checkpoint = random_source_checkpoint(
                source_cfg, osp.join(tmp, 'random_source.pth'))
        result = benchmark(source_cfg, darth_cfg, checkpoint, args.iters,
                           args.warmup, args.batch_size, args.device,
                           amp=args.amp)
    print(f'preset {preset}, device {args.device}'
          f'{" (amp)" if args.amp else ""}, batch {args.batch_size}, '
          f'{args.iters} timed steps each (after {args.warmup} warm-up)')
    for name in ('qdtrack', 'darth'):
        line = f'{name}_step median: {result[f"{name}_step_s"]:.3f} s/iter'
        if f'{name}_peak_mb' in result:
            line += f', peak GPU memory {result[f"{name}_peak_mb"]:.0f} MiB'
        print(line)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({k: v for k, v in result.items()
                       if k != 'steppers'}, f, indent=2)
    print(f'darth_step/qdtrack_step = {result["ratio"]:.2f}')


if __name__ == '__main__':
    main()
