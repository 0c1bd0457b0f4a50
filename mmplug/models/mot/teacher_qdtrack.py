"""QDTrack with a frozen teacher copy of its detector and track head."""
import contextlib
from typing import Dict, Iterator, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.registry import MODELS
from mmdet.structures import TrackSampleList
from ..layers.frozen_bn import FrozenBatchNorm2d
from .qdtrack import MultiClassQDTrack

TEACHER_PREFIX = 'teacher_'
# student module name -> teacher module name
TEACHER_PAIRS = (('detector', 'teacher_detector'),
                 ('track_head', 'teacher_track_head'))
NORM_LAYERS = (FrozenBatchNorm2d, _BatchNorm, nn.GroupNorm, nn.LayerNorm)
TRAINABLE = ('all', 'norm')


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
        frozen_modules (sequence[str]): Student submodules, by dotted name
            (e.g. ``'detector.neck'``, ``'track_head'``), whose parameters
            get no gradient (not in DARTH, which freezes only the stem and
            layer1 through ``frozen_stages``; mmdet's ``freeze_detector``
            freezes all of the detector). Defaults to none.
        trainable (str): ``'all'`` (DARTH): every student parameter not
            frozen otherwise; ``'norm'`` (not in DARTH; TENT's restriction,
            Wang et al., ICLR 2021): only the affine weight and bias of the
            student's normalisation layers. FrozenBN keeps its statistics
            but its affine becomes parameters; the norm layers of frozen
            backbone stages and of ``frozen_modules`` stay frozen.
            Defaults to ``'all'``.
    """

    def __init__(self,
                 detector: Optional[dict] = None,
                 track_head: Optional[dict] = None,
                 tracker: Optional[dict] = None,
                 freeze_detector: bool = False,
                 teacher: Optional[dict] = None,
                 frozen_modules: Sequence[str] = (),
                 trainable: str = 'all',
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
        if trainable not in TRAINABLE:
            raise ValueError(f'model.trainable must be one of {TRAINABLE}, '
                             f'got {trainable!r}')
        self.trainable = trainable
        if trainable == 'norm':
            self._train_norm_affine_only()
        self.frozen_modules = tuple(frozen_modules)
        for name in self.frozen_modules:
            self._student_module(name).requires_grad_(False)
        self._register_load_state_dict_pre_hook(self._fill_teacher_weights)

    def _train_norm_affine_only(self) -> None:
        """Gradients only for the affine of the students' norm layers."""
        for student_name, _ in TEACHER_PAIRS:
            student = getattr(self, student_name, None)
            if student is None:
                continue
            student.requires_grad_(False)
            for module in student.modules():
                if isinstance(module, FrozenBatchNorm2d):
                    # torchvision keeps its affine as buffers; parameters of
                    # the same names keep the state dict's keys
                    for key in ('weight', 'bias'):
                        value = module._buffers.pop(key)
                        module.register_parameter(key, nn.Parameter(value))
                elif isinstance(module, NORM_LAYERS):
                    module.requires_grad_(True)
        # the modules' own freezing (the backbone's frozen_stages, applied
        # in its train()) for the affine parameters made above
        self.train(self.training)

    def _student_module(self, name: str) -> nn.Module:
        try:
            module = None if name.startswith(TEACHER_PREFIX) \
                else self.get_submodule(name)
        except AttributeError:
            module = None
        if module is None:
            students = sorted(n for n, _ in self.named_children()
                              if not n.startswith(TEACHER_PREFIX))
            raise ValueError(
                f'model.frozen_modules: {name!r} is not a student module '
                f'(dotted names under {students}, e.g. "detector.neck")')
        return module

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
