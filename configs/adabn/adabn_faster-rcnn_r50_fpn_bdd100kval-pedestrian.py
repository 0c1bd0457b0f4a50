# AdaBN baseline mirror for bdd100kval-pedestrian (R50-FPN): the FrozenBN
# statistics of the source QDTrack's backbone are re-estimated on the
# unlabelled target frames (each frozen layer briefly becomes a BatchNorm,
# AdaBNLoop), then frozen.
#   python tools/train.py THIS --cfg-options load_from=SOURCE_QDTRACK.pth
#   python tools/test.py THIS WORK_DIR/epoch_1.pth
_base_ = [
    '../_base_/models/qdtrack_faster-rcnn_r50_fpn.py',
    '../_base_/datasets/bdd100k_target.py', '../_base_/schedules/adabn.py',
    '../_base_/default_runtime.py'
]

train_dataloader = dict(
    batch_size=4,
    dataset=dict(pipeline={{_base_.adabn_train_pipeline}}))

# DARTH's protocol adapts on the frames it is tested on: the experiment
# drivers refuse that unless a run (or its config) says so
transductive = True
