"""Video frames without labels, for test-time adaptation."""
import copy
from typing import Any, List

from mmdet.datasets import BaseVideoDataset
from mmdet.registry import DATASETS


@DATASETS.register_module()
class UnlabeledVideoDataset(BaseVideoDataset):
    """Frames of a COCO-video JSON, with every annotation dropped.

    Adaptation must not see target labels: annotations in the file are never
    parsed into the samples, and no frame is filtered for lacking them. With
    ``TrackImgSampler`` each item is one frame ``(video, frame)``, given to
    the pipeline as a plain single-image dict (``img_path``, ``img_id``,
    ``frame_id``, ``video_id``, ...).
    """

    def parse_data_info(self, raw_data_info: dict) -> dict:
        return super().parse_data_info(
            dict(raw_img_info=raw_data_info['raw_img_info'],
                 raw_ann_info=[]))

    def filter_data(self) -> List[dict]:
        return self.data_list

    def prepare_data(self, idx: Any) -> Any:
        if not isinstance(idx, tuple) or len(idx) != 2:
            raise ValueError('UnlabeledVideoDataset is indexed by (video, '
                             f'frame); use TrackImgSampler, got {idx!r}')
        video = self.get_data_info(idx[0])
        frame = copy.deepcopy(video['images'][idx[1]])
        frame['video_id'] = video['video_id']
        frame['video_length'] = video['video_length']
        return self.pipeline(frame)
