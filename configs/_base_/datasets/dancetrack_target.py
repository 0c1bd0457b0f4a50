# DARTH target: unlabelled DanceTrack val frames, tested on DanceTrack val.
_base_ = ['./mot_target.py']

data_root = 'data/DanceTrack/'
target = dict(
    data_root=data_root,
    ann_file='annotations/val_cocoformat.json',
    data_prefix=dict(img_path='val/'))
train_dataloader = dict(dataset=target)
val_dataloader = dict(dataset=target)
test_dataloader = dict(dataset=target)
val_evaluator = [
    dict(type='CocoVideoMetric', metric=['bbox'], classwise=True),
    dict(
        type='MOTChallengeMetric',
        metric=['HOTA', 'CLEAR', 'Identity'],
        benchmark='DanceTrack')
]
test_evaluator = val_evaluator
