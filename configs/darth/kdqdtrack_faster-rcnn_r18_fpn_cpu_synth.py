# DARTH's KDQDTrack on the labelled synthetic source frames: the student is
# fine-tuned with QDTrack's supervised track loss while RPN / RoI
# distillation from the frozen source teacher (no EMA) keeps its detector
# close to the source model. Sized for 2 CPU cores:
#   python tools/train.py THIS --cfg-options load_from=SOURCE.pth
_base_ = [
    '../_base_/models/qdtrack_faster-rcnn_r18_fpn.py',
    '../_base_/models/darth.py', '../_base_/datasets/synthetic.py',
    '../_base_/schedules/darth_4e.py', '../_base_/default_runtime.py'
]

model = {{_base_.kd_model}}

auto_scale_lr = dict(enable=True)  # DARTH's lr is for a total batch of 16
custom_hooks = [dict(type='SourceCheckpointHook')]  # the teacher stays
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
