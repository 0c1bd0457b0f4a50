# Online DARTH on the synthetic demo shift: `tools/test.py` tracks the
# target val split frame by frame and, right after tracking a frame, takes
# one DARTH step on that frame's views (OnlineAdaptationTestLoop). One pass,
# no separate adaptation run:
#   python tools/test.py THIS SOURCE.pth
#
# What differs from offline DARTH, for a single pass at tracking speed:
# - online AdaBN (bn_momentum): the backbone's FrozenBN statistics follow the
#   frames seen so far in the video, each frame updating them as it is
#   tracked (a few per-channel means);
# - the gradient step adapts the RPN, RoI and track heads (trainable): no
#   backward through backbone and neck, a small optimiser step;
# - the views are crops of a third of the frame side (T = P: the teacher runs
#   once; online_adapt_pipeline of the target base), with fewer proposals:
#   about one tracking pass per step on 2 CPU cores;
# - one plain SGD step per frame (lr 0.002, DARTH's, no momentum: each frame
#   is seen once) and a faster EMA teacher (0.01: a video has ~60 steps);
# - reset='video': back to the source model at each new video (SHIFT's
#   protocol); the teacher tracks;
# - the skip rule (skip_conf_thr=0.5) takes steps only on frames where the
#   teacher is unsure, so a model that needs no adaptation is left alone.
_base_ = [
    './darth_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py',
    '../_base_/schedules/darth_online.py'
]

model = {{_base_.darth_online_model}}
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            type='TrackAndAdaptInputs',
            track={{_base_.test_pipeline}},
            adapt={{_base_.online_adapt_pipeline}})
    ]))
test_cfg = {{_base_.darth_online_test_cfg}}
