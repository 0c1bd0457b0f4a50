"""Seconds per frame of plain tracking vs. online adaptation, in one run.

    python tools/analysis_tools/online_benchmark.py [--config ONLINE_CFG]
        [--checkpoint SOURCE.pth] [--videos 2] [--repeats 2]
        [--skip-conf-thr 0.5] [--work-dir DIR]

Tracks the first --videos target val videos of the synthetic demo three
ways, interleaved --repeats times in one process (see
mmplug/apis/step_benchmark.py:online_benchmark): plain tracking (TestLoop),
online adaptation on every frame, and with the skip rule. Prints
`online_frame/track_frame = X.XX` and
`online_skip_frame/track_frame = X.XX (adapted on Y % of the frames)`.
"""
import argparse
import json
import os.path as osp
import tempfile

from mmengine.config import Config

from mmplug.apis.demo import demo_source_checkpoint
from mmplug.apis.experiment import Configs
from mmplug.apis.step_benchmark import online_benchmark


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', help='online adaptation config '
                        "(default: the CPU synthetic one)")
    parser.add_argument('--checkpoint',
                        help='source checkpoint (default: the seed-0 one '
                        '`make demo` trains in work_dirs/demo)')
    parser.add_argument('--data-root', default=None,
                        help='target root with annotations/val_cocoformat'
                        '.json and val/ (default: the demo target)')
    parser.add_argument('--videos', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--skip-conf-thr', type=float, default=0.5)
    parser.add_argument('--work-dir', help='where the passes log '
                        '(default: a temporary folder)')
    parser.add_argument('--out', help='also write the numbers as JSON')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    checkpoint = args.checkpoint or demo_source_checkpoint()
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    cfg = Config.fromfile(args.config or Configs().online)
    # a relative data root is relative to the current folder, as for the
    # test command
    cfg.test_dataloader.dataset.data_root = osp.abspath(
        args.data_root or cfg.test_dataloader.dataset.data_root) + '/'
    with tempfile.TemporaryDirectory() as tmp:
        res = online_benchmark(cfg, osp.abspath(checkpoint),
                               args.work_dir or tmp, args.videos,
                               args.repeats, args.skip_conf_thr)
    print(f'{args.videos} videos, {args.repeats} interleaved repeats; '
          'seconds per frame (median):')
    print(f'  plain tracking:            {res["track_s"]:.4f}')
    print(f'  online, every frame:       {res["online_s"]:.4f}')
    print(f'  online, skip rule (< {args.skip_conf_thr}): '
          f'{res["online_skip_s"]:.4f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=2)
    print(f'online_frame/track_frame = {res["online_ratio"]:.2f}')
    print(f'online_skip_frame/track_frame = {res["online_skip_ratio"]:.2f} '
          f'(adapted on {100 * res["adapted_fraction"]:.0f} % of the frames)')


if __name__ == '__main__':
    main()
