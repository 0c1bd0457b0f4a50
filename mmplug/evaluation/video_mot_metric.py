"""MOTChallengeMetric that names a sequence after its video folder.

mmdet 3.3's ``MOTChallengeMetric`` names a sequence after the folder two
levels above a frame (``img_path.split(os.sep)[-3]``), which is the sequence
in MOTChallenge's ``<seq>/img1/<frame>`` layout but the image root in
BDD100K's ``<video>/<frame>`` layout: every video there gets the same name,
each overwrites the one before and only the last video is evaluated.
"""
import os.path as osp
from typing import List, Sequence

from mmdet.evaluation import MOTChallengeMetric
from mmdet.registry import METRICS

# the frame folder inside a sequence in MOTChallenge's layout
MOT_FRAME_FOLDER = 'img1'


def sequence_name(img_path: str) -> str:
    """The sequence of a frame: the folder above ``img1/`` in the
    MOTChallenge layout (as mmdet names it), else the frame's folder."""
    folder = osp.dirname(osp.normpath(img_path))
    if osp.basename(folder) == MOT_FRAME_FOLDER:
        folder = osp.dirname(folder)
    name = osp.basename(folder)
    if not name:
        raise ValueError(f'img_path {img_path!r} has no video folder; '
                         'MOT evaluation needs <video>/<frame> or '
                         '<seq>/img1/<frame> paths')
    return name


class _SeqNamedSample:
    """A view of a data sample whose ``to_dict()`` puts the frame under
    ``<seq>/img1/``, the path from which mmdet's metric takes the sequence
    name; every other field is the sample's own."""

    def __init__(self, sample) -> None:
        self.sample = sample

    def to_dict(self) -> dict:
        info = self.sample.to_dict()
        path = info['img_path']
        info['img_path'] = osp.join(sequence_name(path), MOT_FRAME_FOLDER,
                                    osp.basename(path))
        return info


@METRICS.register_module()
class VideoMOTChallengeMetric(MOTChallengeMetric):
    """``MOTChallengeMetric`` with one sequence per video folder.

    Ground-truth and result files (``<seq>.txt``), the seqmap and the
    sequence lengths all take the name of :func:`sequence_name`, so
    MOTChallenge sequences keep their names and BDD100K videos are no
    longer merged. mmdet computes the name inline in three methods; rather
    than copy them, the two entry points hand it re-pathed samples. As a
    BDD100K video may hold no labelled box of the evaluated class, such a
    video gets an empty ground-truth file.
    """

    def compute_metrics(self, results: list = None) -> dict:
        """mmdet's metrics, after giving a video without a labelled box an
        empty ground-truth file (mmdet writes none, and TrackEval refuses a
        sequence without one); refused if no video has any label."""
        if not self.format_only:
            gt_files = {seq: osp.join(self.gt_dir, seq + '.txt')
                        for seq in self.seq_info}
            missing = [s for s, f in gt_files.items() if not osp.isfile(f)]
            if missing and len(missing) == len(gt_files):
                raise ValueError(
                    'MOT evaluation needs labels, but no video has a labelled '
                    'box; set format_only=True for unlabelled data')
            for seq in missing:
                open(gt_files[seq], 'w').close()
        return super().compute_metrics(results)

    def process_image(self, data_samples: Sequence, video_len: int) -> None:
        super().process_image(self._renamed(data_samples), video_len)

    def process_video(self, data_samples: Sequence) -> None:
        super().process_video(self._renamed(data_samples))

    @staticmethod
    def _renamed(data_samples: Sequence) -> List[_SeqNamedSample]:
        return [_SeqNamedSample(sample) for sample in data_samples]
