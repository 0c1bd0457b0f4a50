# DARTH target on the synthetic benchmark: the unlabelled frames of a
# corrupted copy's train split in DARTH's views (darth_views.py at 192 px),
# tested on its labelled val split.
_base_ = ['./synthetic.py', './darth_views.py']

target_root = 'data/synth/target-C/fog-3/'
view_scale = _base_.img_scale
online_crop = (64, 64)  # a third of the frame side
# P: the frame at the train pipeline's resolution (synthetic.py's)
pseudo_resize = dict(type='Resize', scale=view_scale, keep_ratio=True)


def _sized(cfg):
    """A darth_views.py pipeline at this data set's sizes (and P's resize)."""
    sizes = {_base_.view_scale: view_scale, _base_.online_crop: online_crop}
    if cfg == _base_.pseudo_resize:
        return pseudo_resize
    if isinstance(cfg, dict):
        return {key: _sized(value) for key, value in cfg.items()}
    if isinstance(cfg, list):
        return [_sized(item) for item in cfg]
    return sizes.get(cfg, cfg) if isinstance(cfg, tuple) else cfg


geometric = _sized(_base_.geometric)
pseudo = _sized(_base_.pseudo)
darth_train_pipeline = _sized(_base_.darth_train_pipeline)
adabn_train_pipeline = _sized(_base_.adabn_train_pipeline)
online_adapt_pipeline = _sized(_base_.online_adapt_pipeline)
# AdaBN's pass over them: changes to train_dataloader (the AdaBN configs, and
# DARTH's bn_stats='target' start through train_cfg.bn_dataloader)
adabn_dataloader = dict(
    batch_size=8, dataset=dict(pipeline=adabn_train_pipeline))

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='UnlabeledVideoDataset',
        data_root=target_root,
        ann_file='annotations/train_cocoformat.json',
        data_prefix=dict(img_path='train/'),
        metainfo=dict(classes={{_base_.classes}}),
        pipeline=darth_train_pipeline))
val_dataloader = dict(dataset=dict(data_root=target_root))
test_dataloader = dict(dataset=dict(data_root=target_root))
