"""MMRazor's single-teacher algorithms, made to refuse training without their teacher and to inherit from it."""
import contextlib
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from mmrazor.models.algorithms import FpnTeacherDistill, SingleTeacherDistill
from mmrazor.registry import MODELS
from torch import nn

from ...checkpoint import load_state_strictly, model_state, read_checkpoint
from ...errors import RecipeValueError


#: Logged at the first training iteration: what the logged ``distill.sum`` and ``distill.ratio`` hold.
SUM_NOTE = ('distill.sum (the sum of the distill.loss_* terms) and distill.ratio (its ratio to the task losses) are '
            'logged as window means only where log_processor.mean_pattern matches them (as the CPU recipes\' '
            "r'.*(loss|time|data_time|grad_norm|distill\\.(sum|ratio)).*' does); with mmengine's default pattern "
            'they are the current iteration\'s values, beside loss columns averaged over the window')


class TeacherCheckMixin:
    """Strict teacher loading and the inheriting strategy, for MMRazor's single-teacher algorithms.

    Upstream, ``SingleTeacherDistill`` loads ``teacher_ckpt`` with ``strict=False`` and trains on when it is
    missing or belongs to another architecture: the student is then distilled from a random teacher, with
    only a log line to show for it. Here:

    - ``teacher_ckpt`` unset is an error, unless ``allow_random_teacher=True`` (smoke tests and teachers that are
      trained in the same run on purpose);
    - every tensor of the teacher must be in the checkpoint with the same shape; a missing file, missing keys
      or shape mismatches are one error naming the path and the keys (``num_batches_tracked`` buffers, which
      checkpoints of old BN layers lack, are exempt). Unexpected extra keys are logged, not fatal: model-zoo
      checkpoints can carry extra entries (EMA copies, heads the teacher's config drops).
    - a frozen teacher (``teacher_trainable=False``, the default) runs wholly in eval mode during training, dropout
      included; upstream only puts its BatchNorm layers in eval mode.
    - ``inherit_from_teacher`` names student submodules (e.g. ``['neck', 'bbox_head']``) initialised from the
      teacher's same-named submodules wherever name and shape match: the inheriting strategy (Kang et al.,
      2021) the DFD paper uses. It runs at the end of ``init_weights``, which the Runner calls before it
      loads a checkpoint, so ``--resume`` and ``load_from`` still win. A named submodule that shares no tensor
      of equal shape with the teacher's is an error.
    - ``loss`` hands the batch's ``data_samples`` to the distiller while it runs (``data_samples_context`` of
      :class:`MultiLevelDistiller`), so that losses needing the annotations (FGD: ground-truth boxes) get them;
      upstream's distill losses see recorded features only.
    """

    def __init__(self, teacher_ckpt: Optional[str] = None, allow_random_teacher: bool = False,
                 inherit_from_teacher: Sequence[str] = (), **kwargs) -> None:
        super().__init__(teacher_ckpt=None, **kwargs)  # type: ignore[call-arg]
        self.teacher_ckpt = teacher_ckpt
        self.inherit_from_teacher = list(inherit_from_teacher)
        #: what the teacher holds, e.g. '540/540 tensors from teacher.pth' (logged; read by the doctor)
        self.teacher_source = 'random (no teacher_ckpt, allow_random_teacher=True)'
        self._sum_noted = False
        if not teacher_ckpt:
            if not allow_random_teacher:
                raise RecipeValueError('model.teacher_ckpt is not set: a distillation run needs a trained teacher. '
                                       'Set model.teacher_ckpt to a checkpoint path or URL '
                                       '(model.allow_random_teacher=True only for smoke tests)')
            return
        loaded, expected = load_teacher_strictly(self.teacher, teacher_ckpt)
        self.teacher_source = f'{loaded}/{expected} tensors from {teacher_ckpt}'
        print_log(f'teacher: loaded {self.teacher_source}', logger='current')
        self.teacher._is_init = True  # init_weights must not overwrite the loaded teacher

    def train(self, mode: bool = True) -> 'TeacherCheckMixin':
        """As upstream, then a frozen teacher goes wholly to eval mode: upstream only freezes its BatchNorm
        statistics, which leaves dropout (e.g. PSPHead's Dropout2d before the logits CWD reads) active in it."""
        super().train(mode)  # type: ignore[misc]
        if mode and not self.teacher_trainable:  # type: ignore[attr-defined]
            self.teacher.eval()  # type: ignore[attr-defined]
        return self

    def loss(self, batch_inputs: torch.Tensor, data_samples: Optional[list] = None) -> dict:
        """Upstream's losses, plus two logged entries that are not optimised (no "loss" in their names):
        ``distill.sum``, the whole distill loss, and ``distill.ratio``, its ratio to the task loss (the student's
        own losses), the first thing to read when a recipe moves to a new model.

        mmengine's log shows each key that ``log_processor.mean_pattern`` matches (default: the losses and times) as
        its mean over the log window, and any other key as its current value: by default ``distill.sum`` is this
        iteration's sum, not the sum of the windowed ``distill.loss_*`` columns beside it. The first training
        iteration logs which of the two the run shows (:data:`SUM_NOTE`); the CPU recipes average both entries.

        The batch's ``data_samples`` are handed to the distiller for the duration of the call
        (:meth:`MultiLevelDistiller.data_samples_context`), for the losses that need annotations (FGD's boxes).
        """
        context = getattr(self.distiller, 'data_samples_context', None)  # type: ignore[attr-defined]
        with context(data_samples) if context is not None else contextlib.nullcontext():
            losses = super().loss(batch_inputs, data_samples)  # type: ignore[misc]
        distill = [_mean(v) for k, v in losses.items() if k.startswith('distill.') and 'loss' in k]
        task = [_mean(v) for k, v in losses.items() if not k.startswith('distill.') and 'loss' in k]
        if distill:
            if self.training and not self._sum_noted:
                print_log(SUM_NOTE, logger='current')
                self._sum_noted = True
            total = torch.stack(distill).sum().detach()
            losses['distill.sum'] = total
            if task:
                losses['distill.ratio'] = total / torch.stack(task).sum().detach()
        return losses

    def init_weights(self) -> None:
        super().init_weights()  # type: ignore[misc]
        for name in self.inherit_from_teacher:
            inherit(self.student.get_submodule(name), self.teacher.get_submodule(name), name)  # type: ignore


def _mean(value) -> 'torch.Tensor':
    """A logged loss entry as one number (mmengine's parse_losses: a tensor's mean, or the sum of a list's)."""
    if isinstance(value, (list, tuple)):
        return torch.stack([v.mean() for v in value]).sum()
    return value.mean()


def load_teacher_strictly(teacher: nn.Module, path: str) -> Tuple[int, int]:
    """Load ``path`` into ``teacher``; raise naming the path and the keys if any teacher tensor is not covered.

    A checkpoint saved as a bare state_dict (no ``'state_dict'`` key) or from a DataParallel/DDP wrapper (keys
    prefixed ``module.``) is accepted; the log says which, and how many keys lost the prefix. A missing or unreadable
    file raises :func:`dfd_razor.checkpoint.read_checkpoint`'s errors (``FileNotFoundError``, ``ValueError``).

    Returns:
        tuple[int, int]: tensors loaded, tensors of the teacher's state_dict.
    """
    key = 'model.teacher_ckpt'
    ckpt = read_checkpoint(path, key)  # a missing or unreadable file: one line naming the key
    state, notes = model_state(ckpt, path, key)
    for note in notes:
        print_log(f'teacher checkpoint {path}: {note}', logger='current')
    unexpected = load_state_strictly(teacher, state, path, key, allow_unexpected=True).unexpected
    if unexpected:
        print_log(f'teacher checkpoint {path}: {len(unexpected)} keys the teacher does not use, e.g. '
                  f'{unexpected[:3]}', logger='current')
    return len(state) - len(unexpected), len(teacher.state_dict())


def inherit(student: nn.Module, teacher: nn.Module, name: str) -> List[str]:
    """Copy teacher tensors into the student where name and shape match; returns the copied names."""
    s_state, t_state = student.state_dict(), teacher.state_dict()
    copied = [k for k, v in s_state.items() if k in t_state and t_state[k].shape == v.shape]
    if not copied:
        raise RecipeValueError(f'model.inherit_from_teacher: student.{name} and teacher.{name} share no tensor of '
                               'equal name and shape')
    student.load_state_dict({k: t_state[k] for k in copied}, strict=False)
    skipped = len(s_state) - len(copied)
    print_log(f'inheriting strategy: student.{name} takes {len(copied)} tensors from the teacher'
              + (f', {skipped} kept (no match)' if skipped else ''), logger='current')
    return copied


@MODELS.register_module()
class CheckedSingleTeacherDistill(TeacherCheckMixin, SingleTeacherDistill):
    """``SingleTeacherDistill`` (the teacher runs its full forward) with :class:`TeacherCheckMixin`.

    Args:
        teacher_ckpt (str, optional): Teacher checkpoint, path or URL. Required unless ``allow_random_teacher``.
        allow_random_teacher (bool): Accept a missing ``teacher_ckpt``. Defaults to False.
        inherit_from_teacher (Sequence[str]): Student submodules initialised from the teacher. Defaults to ().
        **kwargs: ``SingleTeacherDistill``'s other arguments.
    """


@MODELS.register_module()
class CheckedFpnTeacherDistill(TeacherCheckMixin, FpnTeacherDistill):
    """``FpnTeacherDistill`` (the teacher runs backbone and neck only) with :class:`TeacherCheckMixin`.

    Args: as :class:`CheckedSingleTeacherDistill`.
    """
