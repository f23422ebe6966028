"""MultiLevelDistiller's weight schedule in a real Runner: the weight each iteration gets, uninterrupted and
resumed after an interruption, against the schedule's closed form."""
import math
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmrazor.registry import MODELS
from torch import nn

MAX_ITERS = 10


@MODELS.register_module(force=True)
class _ToyNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.body = nn.Conv2d(3, 4, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.body(torch.stack(inputs) if isinstance(inputs, list) else inputs)
        return dict(loss_task=out.mean() * 0) if mode == 'loss' else out


class _Data(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        torch.manual_seed(0)  # every batch the same: with lr 0 the unscaled loss is one number
        return dict(inputs=torch.randn(3, 4, 4))


class _Record(Hook):
    """Keeps each iteration's logged factor and scaled loss; raises after ``stop_after`` to simulate a crash."""
    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, seen, stop_after=None):
        self.seen, self.stop_after = seen, stop_after

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.seen[runner.iter] = (float(outputs['distill.stat_weight_factor'].detach()),
                                float(outputs['distill.loss_l2'].detach()))
        if self.stop_after is not None and runner.iter == self.stop_after:
            raise KeyboardInterrupt('simulated interruption')


def _runner(work_dir, seen, resume=False, stop_after=None):
    model = dict(
        type='mmrazor.SingleTeacherDistill', architecture=dict(type='mmrazor._ToyNet'),
        teacher=dict(type='mmrazor._ToyNet'),
        distiller=dict(type='MultiLevelDistiller',
                       weight_schedule=dict(policy='cosine', floor=0.1, warmup=0.2, stop=0.9),
                       student_recorders=dict(f=dict(type='ModuleOutputs', source='body')),
                       teacher_recorders=dict(f=dict(type='ModuleOutputs', source='body')),
                       distill_losses=dict(loss_l2=dict(type='L2Loss', loss_weight=1.0)),
                       loss_forward_mappings=dict(loss_l2=dict(
                           s_feature=dict(from_student=True, recorder='f'),
                           t_feature=dict(from_student=False, recorder='f')))))
    return Runner(
        model=model, work_dir=work_dir, default_scope='mmrazor', resume=resume,
        train_dataloader=dict(dataset=_Data(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2,
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=MAX_ITERS),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),  # lr 0: the unscaled loss stays the same
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=5, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[_Record(seen, stop_after)], randomness=dict(seed=0), log_level='WARNING')


def expected(i):
    p = i / MAX_ITERS
    if p >= 0.9:
        return 0.0
    return min(1.0, p / 0.2) * (0.1 + 0.9 * (1 + math.cos(math.pi * p)) / 2)


def test_each_iteration_gets_the_schedules_weight_also_after_resume(tmp_path):
    straight = {}
    _runner(str(tmp_path / 'straight'), straight).train()
    assert sorted(straight) == list(range(MAX_ITERS))
    for i, (factor, _) in straight.items():
        assert factor == pytest.approx(expected(i), abs=1e-7), i
    # the loss is the unscaled loss (constant with lr 0) times the factor
    base = straight[5][1] / expected(5)
    assert base > 0
    for i, (factor, loss) in straight.items():
        assert loss == pytest.approx(base * expected(i), rel=1e-5, abs=1e-9), i

    crashed, resumed = {}, {}
    work = str(tmp_path / 'resumed')
    with pytest.raises(KeyboardInterrupt):
        _runner(work, crashed, stop_after=6).train()
    assert osp.isfile(osp.join(work, 'iter_5.pth'))
    _runner(work, resumed, resume=True).train()
    assert sorted(resumed) == list(range(5, MAX_ITERS))  # resumed from iter_5.pth
    for i, (factor, loss) in resumed.items():
        assert factor == pytest.approx(expected(i), abs=1e-7), i
        assert loss == pytest.approx(straight[i][1], rel=1e-5, abs=1e-9), i


def test_no_schedule_outside_a_training_loop():
    from mmengine.logging import MessageHub
    d = MODELS.build(dict(type='MultiLevelDistiller', weight_schedule=dict(policy='linear', stop=0.5)))
    MessageHub.get_instance('test_weight_schedule_doctor')  # a fresh hub: no iteration, as in the doctor
    assert d.weight_factor() is None


def test_bad_schedule_names_the_config_key():
    with pytest.raises(ValueError, match=r"^model\.distiller\.weight_schedule\.policy must be one of"):
        MODELS.build(dict(type='MultiLevelDistiller', weight_schedule=dict(policy='step')))
