# The bn_stats_end sweep DARTH (1 epoch, EMA 0.001) with only its detection
# heads adapting (not in DARTH): the backbone, the neck and the track head
# get no gradient (model.frozen_modules), so the features and the track
# embeddings are AdaBN's (the backbone keeps AdaBN's statistics), and the
# RPN and RoI heads learn DARTH's detection consistency (RPN + RoI
# distillation, teacher on view T vs. student on view S). PCL is off (it
# trains only the track head, frozen here) and the student tracks (with
# EMA 0.001 the teacher would keep ~1/6 of the heads' steps). Written
# against the association that every full-DARTH sweep lost to AdaBN on the
# blurs (docs/benchmarks.md).
#   python tools/analysis_tools/tta_benchmark.py --darth-config THIS
_base_ = ['./darth_faster-rcnn_r18_fpn_1e-ema0.001-bnend_cpu_synth.py']

model = dict(
    with_pcl=False,
    teacher=dict(eval_teacher_preds=False),
    frozen_modules=('detector.backbone', 'detector.neck', 'track_head'))
