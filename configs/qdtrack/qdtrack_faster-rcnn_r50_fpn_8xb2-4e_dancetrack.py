# QDTrack on DanceTrack train, tested on val; frozen-BN ResNet-50 from local
# weights (see the MOT17 config for the checkpoint options).
_base_ = ['./qdtrack_faster-rcnn_r50_fpn_8xb2-4e_mot17halftrain_test-mot17halfval.py']

train_dataloader = dict(
    dataset=dict(
        data_root='data/DanceTrack/',
        ann_file='annotations/train_cocoformat.json',
        data_prefix=dict(img_path='train/')))
val_dataloader = dict(
    dataset=dict(
        data_root='data/DanceTrack/',
        ann_file='annotations/val_cocoformat.json',
        data_prefix=dict(img_path='val/')))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='CocoVideoMetric', metric=['bbox'], classwise=True),
    dict(
        type='MOTChallengeMetric',
        metric=['HOTA', 'CLEAR', 'Identity'],
        benchmark='DanceTrack')
]
test_evaluator = val_evaluator
