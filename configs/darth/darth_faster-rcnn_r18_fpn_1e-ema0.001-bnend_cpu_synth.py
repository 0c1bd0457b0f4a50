# The sweep's DARTH (1 epoch, EMA 0.001 teacher tracking) with one change,
# not in DARTH: after the last step the frozen BatchNorm statistics of the
# backbone are re-estimated on the unlabelled target frames, for the
# student and for the teacher through their adapted weights
# (train_cfg.bn_stats_end; the start's statistics were estimated for the
# start's weights). A candidate for the robustness sweep, judged on the
# validation corruptions first (docs/benchmarks.md).
#   python tools/analysis_tools/tta_benchmark.py --darth-config THIS
_base_ = ['./darth_faster-rcnn_r18_fpn_1e-ema0.001_cpu_synth.py']

train_cfg = dict(bn_stats_end=True)
