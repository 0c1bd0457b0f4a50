"""QDTrack with a frozen teacher copy of its detector and track head."""
import contextlib
from typing import Dict, Iterator, Optional, Tuple

import torch
from torch import Tensor, nn

from mmdet.registry import MODELS
from mmdet.structures import TrackSampleList
from .qdtrack import MultiClassQDTrack

TEACHER_PREFIX = 'teacher_'
# student module name -> teacher module name
TEACHER_PAIRS = (('detector', 'teacher_detector'),
                 ('track_head', 'teacher_track_head'))


def teacher_student_tensors(
        model: nn.Module) -> Iterator[Tuple[str, Tensor, Tensor]]:
    """(name, teacher tensor, student tensor) for every parameter and buffer
    of the ``teacher_*`` modules of ``model``."""
    for student_name, teacher_name in TEACHER_PAIRS:
        student = getattr(model, student_name, None)
        teacher = getattr(model, teacher_name, None)
        if student is None or teacher is None:
            continue
        s_state = dict(student.named_parameters())
        s_state.update(student.named_buffers())
        t_state = dict(teacher.named_parameters())
        t_state.update(teacher.named_buffers())
        if s_state.keys() != t_state.keys():
            raise ValueError(f'{teacher_name} and {student_name} differ: '
                             f'{sorted(s_state.keys() ^ t_state.keys())}')
        for name, t in t_state.items():
            yield f'{teacher_name}.{name}', t, s_state[name]


@MODELS.register_module()
class TeacherQDTrack(MultiClassQDTrack):
    """QDTrack plus ``teacher_detector`` / ``teacher_track_head`` (DARTH).

    The teacher is built from the same configs as the student, never gets
    gradients, and is kept in eval mode whatever ``train()`` is called with
    (when ``eval_mode_teacher``). It starts as a copy of the student: after
    ``init_weights``, and when a checkpoint without ``teacher_*`` weights is
    loaded (``load_from=<source QDTrack checkpoint>``); a checkpoint that has
    them loads as is. ``EMATrainHook`` updates it during adaptation.

    Args:
        detector, track_head, tracker, freeze_detector, data_preprocessor,
            init_cfg: as mmdet's ``QDTrack``.
        teacher (dict): ``eval_teacher_preds`` (bool, default False): track
            with the teacher at test time; ``eval_mode_teacher`` (bool,
            default True): keep the teacher in eval mode.
    """

    def __init__(self,
                 detector: Optional[dict] = None,
                 track_head: Optional[dict] = None,
                 tracker: Optional[dict] = None,
                 freeze_detector: bool = False,
                 teacher: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(detector, track_head, tracker, freeze_detector,
                         data_preprocessor, init_cfg)
        self.teacher_cfg = self._check_teacher_cfg(teacher or {})
        if detector is not None:
            self.teacher_detector = MODELS.build(detector)
        if track_head is not None:
            self.teacher_track_head = MODELS.build(track_head)
        for _, teacher_name in TEACHER_PAIRS:
            module = getattr(self, teacher_name, None)
            if module is not None:
                module.requires_grad_(False)
        self._register_load_state_dict_pre_hook(self._fill_teacher_weights)

    @staticmethod
    def _check_teacher_cfg(cfg: dict) -> Dict[str, bool]:
        allowed = {'eval_teacher_preds': False, 'eval_mode_teacher': True}
        unknown = set(cfg) - set(allowed)
        if unknown:
            raise ValueError(f'unknown teacher keys {sorted(unknown)}; '
                             f'allowed: {sorted(allowed)}')
        allowed.update(cfg)
        return allowed

    def train(self, mode: bool = True) -> 'TeacherQDTrack':
        super().train(mode)
        if self.teacher_cfg['eval_mode_teacher']:
            for _, teacher_name in TEACHER_PAIRS:
                if hasattr(self, teacher_name):
                    getattr(self, teacher_name).eval()
        return self

    @torch.no_grad()
    def copy_student_to_teacher(self) -> None:
        """teacher <- student, for every parameter and buffer."""
        for _, t, s in teacher_student_tensors(self):
            t.copy_(s)

    def init_weights(self) -> None:
        super().init_weights()
        self.copy_student_to_teacher()

    @staticmethod
    def _fill_teacher_weights(state_dict, prefix, *args) -> None:
        """Duplicate student weights as teacher weights when a (source
        QDTrack) checkpoint has none."""
        has_teacher = any(k.startswith(prefix + TEACHER_PREFIX)
                          for k in state_dict)
        if has_teacher:
            return
        for student_name, teacher_name in TEACHER_PAIRS:
            head = f'{prefix}{student_name}.'
            for key in [k for k in state_dict if k.startswith(head)]:
                new_key = f'{prefix}{teacher_name}.{key[len(head):]}'
                state_dict[new_key] = state_dict[key]

    @contextlib.contextmanager
    def teacher_as_student(self) -> Iterator[None]:
        """Temporarily swap teacher and student modules (for prediction)."""
        def swap():
            for student_name, teacher_name in TEACHER_PAIRS:
                s, t = self._modules[student_name], self._modules[teacher_name]
                self._modules[student_name], self._modules[teacher_name] = t, s

        swap()
        try:
            yield
        finally:
            swap()

    def predict(self, inputs: Tensor, data_samples: TrackSampleList,
                rescale: bool = True, **kwargs) -> TrackSampleList:
        """Track with the student, or the teacher if ``eval_teacher_preds``."""
        if not self.teacher_cfg['eval_teacher_preds']:
            return super().predict(inputs, data_samples, rescale, **kwargs)
        with self.teacher_as_student():
            return super().predict(inputs, data_samples, rescale, **kwargs)
