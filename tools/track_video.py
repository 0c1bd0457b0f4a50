"""Track a video or a folder of frames, adapting the tracker to it without
labels (mmdetection's demo/mot_demo.py conventions, plus --adapt).

    python tools/track_video.py INPUT CONFIG --checkpoint CKPT
        [--adapt none|adabn|online|darth] [--adapt-config CFG]
        [--cfg-options K=V ...] [--epochs N] [--max-frames N]
        [--out out.mp4|out.gif] [--fps FPS] [--show-dir DIR]
        [--out-tracks DIR] [--score-thr T] [--device cpu] [--work-dir DIR]

INPUT is a video file or a folder of images (sorted by name); CONFIG is the
QDTrack config the checkpoint was trained with. --adapt:
  none    plain tracking;
  adabn   the backbone's norm statistics from the footage's frames first
          (one pass, no label; configs/adabn);
  online  each frame tracked, then learned from (online DARTH, skip rule;
          configs/darth/darth-online_*);
  darth   offline DARTH on the footage's frames (--epochs, default 1;
          configs/darth), then tracking.
The default config of a mode matches CONFIG's model (ResNet-18: the CPU
synthetic ones; ResNet-50: the MOT17 / DanceTrack / BDD100K ones, by
CONFIG's name); --adapt-config replaces it, --cfg-options overrides it
(CONFIG itself with --adapt none).

--out-tracks DIR writes DIR/<name>.txt (MOTChallenge:
frame,id,x,y,w,h,score,-1,-1,-1; for TrackEval and
tools/analysis_tools/eval_mot.py) and DIR/<name>.adapt.json (which frames
the model learned from, wall times).
"""
import argparse
import json
import os.path as osp
import tempfile

from mmengine.config import DictAction

from mmplug.apis.footage import (render_frames, video_fps, write_mot_tracks,
                                 write_video)
from mmplug.apis.inference import ADAPT_MODES, init_tracker, track_video
from mmplug.utils.io import dump_json_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('input', help='a video file or a folder of frames')
    parser.add_argument('config', help='the QDTrack config of the checkpoint')
    parser.add_argument('--checkpoint', required=True, help='checkpoint file')
    parser.add_argument('--adapt', choices=ADAPT_MODES, default='none',
                        help='how to adapt to the footage (default: none)')
    parser.add_argument('--adapt-config',
                        help="the mode's config instead of the project's")
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help="override keys of the mode's config (CONFIG with --adapt "
        'none); a key not in it is an error')
    parser.add_argument('--epochs', type=int, default=1,
                        help='--adapt darth: epochs over the footage')
    parser.add_argument('--max-frames', type=int,
                        help='only the first N frames')
    parser.add_argument('--out', help='rendered video (.mp4 or .gif)')
    parser.add_argument('--fps', type=float,
                        help="of --out (default: the input's, or 30)")
    parser.add_argument('--show-dir',
                        help='also write the rendered frames here')
    parser.add_argument('--out-tracks', help='write DIR/<name>.txt')
    parser.add_argument('--score-thr', type=float, default=0.0,
                        help='tracks below this score are not drawn or '
                        'written (default: 0, all)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--work-dir',
                        help='keep the frames, logs and adapted checkpoints '
                        'here (default: a temporary folder)')
    args = parser.parse_args(argv)
    if not (args.out or args.out_tracks or args.show_dir):
        parser.error('nothing to write: give --out, --out-tracks and/or '
                     '--show-dir')
    if args.out and osp.splitext(args.out)[1].lower() not in ('.mp4',
                                                              '.gif'):
        parser.error(f'--out {args.out}: the extension must be .mp4 or .gif')
    return args


def write_outputs(args, result) -> None:
    tracks = [t.above(args.score_thr) for t in result]
    if args.out_tracks:
        path = write_mot_tracks(
            tracks, osp.join(args.out_tracks, f'{result.name}.txt'))
        dump_json_atomic(
            dict(adapt=result.adapt, learned_from=result.learned_from,
                 seconds=result.seconds, frames=len(result)),
            osp.join(args.out_tracks, f'{result.name}.adapt.json'), indent=2)
        print(f'tracks: {path}')
    title = f'{result.name} ({result.adapt})'
    if args.show_dir:
        import cv2
        from mmplug.utils.io import write_atomic
        for frame, img in zip(tracks, render_frames(result.images, tracks,
                                                    title)):
            ok, data = cv2.imencode('.jpg', img)
            write_atomic(osp.join(args.show_dir, f'{frame.frame:06d}.jpg'),
                         data.tobytes())
        print(f'frames: {args.show_dir}')
    if args.out:
        fps = args.fps or video_fps(args.input)
        write_video(render_frames(result.images, tracks, title), args.out,
                    fps)
        print(f'video: {args.out}')


def main(argv=None):
    args = parse_args(argv)
    # with --adapt none the options change CONFIG's model too; otherwise
    # they are the mode config's (its own model is built from it)
    model = init_tracker(args.config, args.checkpoint, args.device,
                         args.cfg_options if args.adapt == 'none' else None)
    with tempfile.TemporaryDirectory(prefix='mmplug-track-') as tmp:
        result = track_video(model, args.input, args.adapt,
                             args.adapt_config, args.cfg_options,
                             args.epochs, args.max_frames,
                             args.work_dir or tmp)
        print(result.learned_from['summary'])
        n = len(result)
        for phase, sec in result.seconds.items():
            print(f'{phase}: {sec:.1f} s ({n / sec:.2f} frames/s)')
        write_outputs(args, result)
    print(json.dumps(dict(adapt=result.adapt, frames=n,
                          seconds=result.seconds)))


if __name__ == '__main__':
    main()
