# DARTH target on MOTChallenge-format data: the unlabelled frames of the
# test split in DARTH's views (darth_views.py; adaptation on the test
# sequences, as DARTH does), tested on that split. MOT17 half-val here, as
# mot_challenge.py; dancetrack_target.py and bdd100k_target.py point it at
# their data.
_base_ = ['./mot_challenge.py', './darth_views.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='UnlabeledVideoDataset',
        data_root={{_base_.data_root}},
        ann_file='annotations/half-val_cocoformat.json',
        data_prefix=dict(img_path='train/'),
        metainfo=dict(classes={{_base_.classes}}),
        pipeline={{_base_.darth_train_pipeline}}))
