# Mirror of DARTH's adapter config for dancetrackval: adapts a source QDTrack
# (R50-FPN, frozen BN) on the unlabelled target frames. Build-only here:
#   python tools/train.py THIS --cfg-options load_from=SOURCE_QDTRACK.pth
_base_ = [
    '../_base_/models/qdtrack_faster-rcnn_r50_fpn.py',
    '../_base_/models/darth.py', '../_base_/datasets/dancetrack_target.py',
    '../_base_/schedules/darth_4e.py', '../_base_/default_runtime.py'
]

model = {{_base_.darth_model}}

# DARTH's protocol adapts on the frames it is tested on: the experiment
# drivers refuse that unless a run (or its config) says so
transductive = True
