# DanceTrack train / val, converted with:
#   python tools/dataset_converters/mot2coco.py -i data/DanceTrack
#       -o data/DanceTrack/annotations
_base_ = './mot_challenge.py'

data_root = 'data/DanceTrack/'

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/train_cocoformat.json',
        data_prefix=dict(img_path='train/')))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
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
