"""Count the dead ReLU units of a checkpoint's RoI head (a collapsed
source training leaves them dead).

    python tools/analysis_tools/roi_head_units.py CONFIG CHECKPOINT
        --images 'data/synth/none/val/*/img1/*.jpg' [--max-images 8]
        [--module detector.roi_head.bbox_head.shared_fcs]
        [--detector detector] [--cfg-options K=V ...] [--out JSON]

Runs the detector on the first --max-images files (sorted) and prints, per
nn.Linear under --module, the share of units whose pre-activation is > 0
for at least one RoI, and their mean ReLU output.
"""
import argparse

from mmdet.apis import init_track_model
from mmdet.utils import register_all_modules
from mmengine.config import DictAction

import mmplug  # noqa: F401  (registers modules, safe checkpoint loading)
from mmplug.apis.roi_units import load_images, roi_head_units
from mmplug.apis.runner import load_config
from mmplug.utils.io import dump_json_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--images', required=True,
                        help='glob of image files (quote it)')
    parser.add_argument('--max-images', type=int, default=8)
    parser.add_argument('--module',
                        default='detector.roi_head.bbox_head.shared_fcs')
    parser.add_argument('--detector', default='detector')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--out', help='write the counts as JSON here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    files = load_images(args.images, args.max_images)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    model = init_track_model(cfg, args.checkpoint, device='cpu')
    counts = roi_head_units(model, files, args.detector, args.module)
    for name, c in counts.items():
        print(f'{args.module}.{name}: {c["units"]} units, '
              f'{100 * c["alive"]:.1f} % alive, mean activation '
              f'{c["mean_act"]:.4f} ({c["rois"]} RoIs, {len(files)} images)')
    if args.out:
        dump_json_atomic(counts, args.out, indent=2)


if __name__ == '__main__':
    main()
