# The sweep's DARTH (1 epoch, EMA 0.001 teacher tracking, bn_stats_end) plus
# one term not in DARTH: the student's FPN feature moments on its S view are
# pulled towards the source model's on the clean source frames
# (FeatureStatsAlignLoss, as ActMAD, Mirza et al. CVPR 2023: no augmentation,
# so nothing about the kind of shift is assumed). The source statistics are
# computed before the first step from the source model and the source train
# frames (no label read): what a source model would ship with.
#   python tools/analysis_tools/tta_benchmark.py --darth-config THIS
# For other data, point train_cfg.source_stats_dataloader.dataset at the
# source root (tta_benchmark.py does it from its source root and split).
_base_ = ['./darth_faster-rcnn_r18_fpn_1e-ema0.001-bnend_cpu_synth.py']

model = dict(
    loss_feat_align=dict(
        type='FeatureStatsAlignLoss',
        num_levels=4,  # the neck's num_outs (one per stride)
        channels={{_base_.fpn_channels}},
        loss_weight=1.0))
# the source frames as AdaBN reads target frames (one view, test-time
# resize), in batches of the adaptation's size (2): the loss compares the
# moments of batches of 2
train_cfg = dict(
    source_stats_dataloader=dict(
        dataset=dict(
            data_root='data/synth/none/',
            ann_file='annotations/train_cocoformat.json',
            data_prefix=dict(img_path='train/'),
            pipeline={{_base_.adabn_train_pipeline}})))
