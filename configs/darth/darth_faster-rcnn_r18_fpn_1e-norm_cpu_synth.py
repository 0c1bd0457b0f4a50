# The sweep's DARTH (1 epoch, EMA 0.001 teacher tracking, bn_stats_end) with
# one change, not in DARTH: only the affine weight and bias of the student's
# normalisation layers adapt (model.trainable='norm', TENT's restriction,
# Wang et al. ICLR 2021): the backbone's FrozenBN affine of layer2..4
# (frozen_stages=1 still holds) and the track head's GroupNorm. The losses
# are DARTH's (RPN + RoI distillation, PCL); channel-wise steps bound the
# drift of the features the track head reads, which cost every full-network
# DARTH setting association on the validation corruptions
# (docs/benchmarks.md).
#   python tools/analysis_tools/tta_benchmark.py --darth-config THIS
_base_ = ['./darth_faster-rcnn_r18_fpn_1e-ema0.001-bnend_cpu_synth.py']

model = dict(trainable='norm')
