# The synthetic QDTrack config plus the example hook: run from the repo root
#   PYTHONPATH=examples/custom_hook python tools/train.py \
#       examples/custom_hook/qdtrack_synth_with_loss_record.py
_base_ = ['../../configs/qdtrack/qdtrack_faster-rcnn_r18_fpn_2xb2-cpu_synth.py']

custom_imports = dict(
    imports=['mmplug', 'loss_record_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='LossRecordHook', filename='losses.jsonl')]
