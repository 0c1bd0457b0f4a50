"""mmcv's compiled ops against a reference, for scripts/gpu_check.sh.

    python scripts/gpu_check_ops.py [--cpu] [--out ops.json]

With a GPU (and mmcv built with CUDA ops): ``RoIAlign`` CUDA vs CPU within
``--tol`` (1e-4) at the settings the configs use and a few others, ``nms``
and ``batched_nms`` CUDA vs CPU keep the same boxes. Without one (``--cpu``
or no GPU): mmcv's CPU ``RoIAlign`` vs torchvision's ``roi_align`` and
mmcv's ``nms`` vs torchvision's, so the script's own path runs anywhere.
Exits 1 naming the first op that differs.
"""
import argparse
import json
import sys

import torch


def _inputs(seed: int = 0, n: int = 256):
    """Features (2, 16, 48, 64) and ``n`` RoIs (batch index, x1, y1, x2,
    y2) in image pixels (stride 4), some reaching past the border."""
    gen = torch.Generator().manual_seed(seed)
    feats = torch.rand(2, 16, 48, 64, generator=gen)
    xy = torch.rand(n, 2, generator=gen) * torch.tensor([256., 192.])
    wh = torch.rand(n, 2, generator=gen) * 80 + 1
    rois = torch.cat([torch.randint(0, 2, (n, 1), generator=gen).float(),
                      xy - 8, xy + wh], 1)
    scores = torch.rand(n, generator=gen)
    labels = torch.randint(0, 3, (n, ), generator=gen)
    return feats, rois, scores, labels


# (output_size, spatial_scale, sampling_ratio, aligned): the configs'
# RoIAlign (7, 1/4, 0, True) and its other settings
ROI_SETTINGS = [(7, 0.25, 0, True), (7, 0.25, 2, True), (7, 0.25, 0, False),
                (14, 0.25, 2, True)]


def roi_align_diffs(device: str) -> dict:
    """Max |a - b| of mmcv RoIAlign on ``device`` vs the reference (CPU
    mmcv on CUDA, torchvision on CPU) for each setting."""
    from mmcv.ops import RoIAlign
    from torchvision.ops import roi_align
    feats, rois, _, _ = _inputs()
    out = {}
    for size, scale, ratio, aligned in ROI_SETTINGS:
        op = RoIAlign(size, scale, ratio, aligned=aligned)
        if device == 'cpu':
            got = op(feats, rois)
            ref = roi_align(feats, rois, size, scale, ratio, aligned)
        else:
            got = op(feats.to(device), rois.to(device)).cpu()
            ref = op(feats, rois)
        key = f'roi_align(out={size},scale={scale},ratio={ratio},' \
              f'aligned={aligned})'
        out[key] = (got - ref).abs().max().item()
    return out


def nms_agree(device: str) -> dict:
    """Whether mmcv's nms / batched_nms on ``device`` keep the same boxes
    as the reference (CPU mmcv on CUDA, torchvision on CPU)."""
    from mmcv.ops import batched_nms, nms
    from torchvision.ops import batched_nms as tv_batched_nms
    from torchvision.ops import nms as tv_nms
    _, rois, scores, labels = _inputs(seed=1)
    boxes = rois[:, 1:].contiguous()
    cfg = dict(type='nms', iou_threshold=0.5)
    out = {}
    for thr in (0.3, 0.5, 0.7):
        if device == 'cpu':
            got, ref = nms(boxes, scores, thr)[1], tv_nms(boxes, scores, thr)
        else:
            got = nms(boxes.to(device), scores.to(device), thr)[1].cpu()
            ref = nms(boxes, scores, thr)[1]
        out[f'nms(iou={thr})'] = torch.equal(got.sort()[0], ref.sort()[0])
    if device == 'cpu':
        got = batched_nms(boxes, scores, labels, cfg)[1]
        ref = tv_batched_nms(boxes, scores, labels, 0.5)
    else:
        got = batched_nms(boxes.to(device), scores.to(device),
                          labels.to(device), cfg)[1].cpu()
        ref = batched_nms(boxes, scores, labels, cfg)[1]
    out['batched_nms(iou=0.5)'] = torch.equal(got.sort()[0], ref.sort()[0])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cpu', action='store_true',
                        help='check the CPU ops against torchvision')
    parser.add_argument('--tol', type=float, default=1e-4)
    parser.add_argument('--out', help='also write the results as JSON')
    args = parser.parse_args(argv)
    import mmcv.ops
    built = mmcv.ops.get_compiling_cuda_version()
    cuda = not args.cpu and torch.cuda.is_available()
    if cuda and built == 'not available':
        print('[ops] ERROR: a GPU is here but mmcv was built without CUDA '
              'ops', file=sys.stderr)
        return 1
    device = 'cuda' if cuda else 'cpu'
    against = 'mmcv CPU' if cuda else 'torchvision'
    diffs, agree = roi_align_diffs(device), nms_agree(device)
    failed = [k for k, v in diffs.items() if not v < args.tol] + \
        [k for k, v in agree.items() if not v]
    for key, value in diffs.items():
        print(f'[ops] {key} {device} vs {against}: max diff {value:.2e}'
              f'{"" if value < args.tol else "  FAILED"}')
    for key, value in agree.items():
        print(f'[ops] {key} {device} vs {against}: '
              f'{"same boxes" if value else "DIFFERENT boxes  FAILED"}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(device=device, against=against, tol=args.tol,
                           mmcv_cuda=built, roi_align_max_diff=diffs,
                           nms_same=agree, failed=failed), f, indent=2)
    if failed:
        print(f'[ops] FAILED: {failed}', file=sys.stderr)
        return 1
    print(f'[ops] OK: {len(diffs)} RoIAlign settings within {args.tol:g}, '
          f'{len(agree)} nms checks equal ({device} vs {against})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
