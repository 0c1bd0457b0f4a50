# Online DARTH for mot17halfval (R50-FPN, frozen BN): tracks the
# target and adapts frame by frame (OnlineAdaptationTestLoop), with the
# choices of darth-online_faster-rcnn_r18_fpn_cpu_synth-none-to-fog.py and
# the online views of the target base. Not run on this data set here (GPU
# work):
#   python tools/test.py THIS SOURCE_QDTRACK.pth
_base_ = [
    './darth_faster-rcnn_r50_fpn_4e_mot17halfval.py',
    '../_base_/schedules/darth_online.py'
]

model = {{_base_.darth_online_model}}
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            type='TrackAndAdaptInputs',
            track={{_base_.test_pipeline}},
            adapt={{_base_.online_adapt_pipeline}})
    ]))
test_cfg = {{_base_.darth_online_test_cfg}}
