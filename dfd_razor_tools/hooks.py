"""Hooks the tools add to a Runner (registered in mmengine's ``HOOKS`` on import, so every scope finds them)."""
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RandomTeacherHook(Hook):
    """Says that the teacher is random: once when training starts, and in every validation's log line.

    A distillation run with ``model.teacher_ckpt=None`` and ``model.allow_random_teacher=True`` (``tools/train.py
    --random-teacher``) checks the wiring; its metrics say nothing about distillation, and its log must not be read
    as a real run. The algorithm's ``teacher_source`` (``CheckedSingleTeacherDistill``/``CheckedFpnTeacherDistill``)
    tells whether the teacher is random; with a loaded teacher the hook does nothing. The validation line gets
    ``teacher: RANDOM`` through the MessageHub's ``val/`` runtime information, which mmengine's ``LoggerHook``
    (a lower priority, so it runs after this hook) prints beside the metrics; the scalars file is not touched.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self.random = False

    def before_train(self, runner) -> None:
        model = getattr(runner.model, 'module', runner.model)
        source = str(getattr(model, 'teacher_source', ''))
        self.random = source.startswith('random')
        if self.random:
            runner.logger.warning('the teacher is RANDOM (model.teacher_ckpt=None, model.allow_random_teacher=True): '
                                  'this run checks the wiring; its losses and metrics say nothing about '
                                  'distillation')

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if self.random:
            runner.message_hub.update_info('val/teacher', 'RANDOM')
