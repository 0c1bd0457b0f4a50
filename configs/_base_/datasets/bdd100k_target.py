# DARTH target: unlabelled BDD100K box-tracking val frames, pedestrian class
# (as DARTH's BDD100K pedestrian setting), in COCO-video JSON.
_base_ = ['./mot_target.py']

data_root = 'data/bdd100k/'
img_scale = (1296, 720)
# BDD100K's frame size, used by the online views' resize only (the offline
# views and the test pipeline keep mot_target.py's 1088 px)
online_adapt_pipeline = _base_.online_adapt_pipeline
online_adapt_pipeline[1].scale = img_scale
target = dict(
    data_root=data_root,
    ann_file='annotations/box_track_val_cocoformat.json',
    data_prefix=dict(img_path='images/track/val/'),
    metainfo=dict(classes=('pedestrian', )))
train_dataloader = dict(dataset=target)
val_dataloader = dict(dataset=target)
test_dataloader = dict(dataset=target)

# BDD100K frames are <video>/<frame>.jpg, not MOTChallenge's
# <seq>/img1/<frame>.jpg: mmplug's VideoMOTChallengeMetric names each sequence
# after its video (mmdet's MOTChallengeMetric would merge all videos into one)
val_evaluator = [
    dict(type='CocoVideoMetric', metric=['bbox'], classwise=True),
    dict(
        type='VideoMOTChallengeMetric', metric=['HOTA', 'CLEAR', 'Identity'])
]
test_evaluator = val_evaluator
