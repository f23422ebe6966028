"""The doctor's tap-pair check (dfd_razor.tap_check.TapPair, issue 41): a student tap and a teacher tap that are not
the same map of the two models (another stage, another output stride, another width with no connector between, or
another depth in the stage) are named, on toy models whose stage depths and strides are known by construction."""
import pytest
import torch
from mmrazor.registry import MODELS
from torch import nn

import dfd_razor  # noqa: F401
from dfd_razor.doctor import diagnose
from dfd_razor.tap_check import DEPTH_GAP, TapPair, stage_depth, trace_modules
from test_doctor import _ToyAlgorithm


class _Net(nn.Module):
    """``backbone``: four stages of one 3x3 conv each (strides as given), ``neck``: one 1x1 conv, ``head``: one."""

    def __init__(self, channels: int, strides=(2, 2, 2, 2)) -> None:
        super().__init__()
        self.backbone = nn.Sequential(*[nn.Conv2d(3 if i == 0 else channels, channels, 3, s, 1)
                                        for i, s in enumerate(strides)])
        self.neck = nn.Conv2d(channels, channels, 1)
        self.head = nn.Conv2d(channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(x)))


class _Algorithm(_ToyAlgorithm):
    """test_doctor's toy algorithm: one CWD loss between ``student_tap`` and ``teacher_tap`` of two _Net."""

    def __init__(self, student_tap: str, teacher_tap: str, student_channels: int = 8, strides=(2, 2, 2, 2),
                 connector: bool = False) -> None:
        nn.Module.__init__(self)
        self.student, self.teacher = _Net(student_channels, strides), _Net(8, strides)
        self.teacher.requires_grad_(False)
        preds_s = dict(from_student=True, recorder='feat')
        connectors = {}
        if connector:
            connectors = dict(s=dict(type='ConvModuleConnector', in_channel=student_channels, out_channel=8,
                                     norm_cfg=None, act_cfg=None))
            preds_s['connector'] = 's'
        self.distiller = MODELS.build(dict(
            type='MultiLevelDistiller',
            student_recorders=dict(feat=dict(type='ModuleOutputs', source=student_tap)),
            teacher_recorders=dict(feat=dict(type='ModuleOutputs', source=teacher_tap)),
            connectors=connectors,
            distill_losses=dict(loss_cwd=dict(type='ChannelWiseDivergence', loss_weight=1)),
            loss_forward_mappings=dict(loss_cwd=dict(preds_S=preds_s,
                                                     preds_T=dict(from_student=False, recorder='feat')))))
        self.distiller.prepare_from_student(self.student)
        self.distiller.prepare_from_teacher(self.teacher)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'loss') -> dict:
        try:
            return super().forward(inputs, data_samples, mode)
        except ValueError:  # maps the loss cannot compare: the doctor reads the recorded ones alone
            return {'loss_task': self.student(inputs).pow(2).mean()}


def report(*args, **kwargs):
    torch.manual_seed(0)
    return diagnose(_Algorithm(*args, **kwargs), dict(inputs=torch.randn(2, 3, 32, 32), data_samples=None))


def test_stage_depth_is_the_fraction_of_the_stage_run():
    net = _Net(8)
    with trace_modules(net) as calls:
        net(torch.randn(1, 3, 32, 32))
    # four convs in the backbone, one each: stage i has run i + 1 of them
    assert [stage_depth(calls, f'backbone.{i}') for i in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert stage_depth(calls, 'backbone') == 1.0 and stage_depth(calls, 'neck') == 1.0
    assert stage_depth(calls, 'nonesuch') is None


def test_corresponding_taps_pass():
    r = report('backbone.3', 'backbone.3')
    assert [p.describe() for p in r.pairs] == [
        'student backbone.3 (2, 8, 2, 2) at 1.00 of backbone ~ teacher backbone.3 (2, 8, 2, 2) at 1.00 of backbone']
    assert not [m for m in r.problems + r.warnings if 'the student taps' in m], r.table()


def test_taps_of_another_output_stride_are_a_problem():
    r = report('backbone.2', 'backbone.3')  # 4x4 against 2x2 (stride 8 against 16); 0.75 against 1.0 of backbone
    assert 'loss_cwd: the student taps backbone.2, the teacher backbone.3: maps of different size (4, 4) vs (2, 2) ' \
           'on the same input (another output stride): tap the outputs of the same stride' in r.problems, r.table()


def test_taps_of_another_stage_are_a_problem():
    r = report('neck', 'backbone.3')
    assert 'loss_cwd: the student taps neck, the teacher backbone.3: different stages (neck vs backbone); tap the ' \
           'same stage of both' in r.problems, r.table()


def test_taps_a_stage_apart_at_the_same_stride_are_a_warning():
    r = report('backbone.1', 'backbone.3', strides=(2, 1, 1, 1))  # all 16x16; 0.5 against 1.0 of the backbone
    assert not [m for m in r.problems if 'the student taps' in m], r.table()
    assert 'loss_cwd: the student taps backbone.1, the teacher backbone.3: at 0.50 vs 1.00 of their backbone (the ' \
           'fraction of its layers run): probably not the same stage of the two models' in r.warnings, r.table()


def test_widths_differ_without_a_connector_is_a_problem_and_with_one_passes():
    r = report('backbone.3', 'backbone.3', student_channels=4)
    assert 'loss_cwd: the student taps backbone.3, the teacher backbone.3: 4 vs 8 channels and no connector ' \
           'between: tap maps of equal width or add an alignment connector (the *_align methods)' in r.problems
    r = report('backbone.3', 'backbone.3', student_channels=4, connector=True)
    assert not [m for m in r.problems + r.warnings if 'the student taps' in m], r.table()


@pytest.mark.parametrize('s, t, flagged', [(0.6, 0.6 + DEPTH_GAP - 1e-9, False), (0.6, 0.6 + DEPTH_GAP + 1e-9, True)])
def test_the_depth_gap_threshold(s, t, flagged):
    pair = TapPair('loss', 'backbone.x', 'backbone.y', (1, 8, 4, 4), (1, 8, 4, 4), s, t, False)
    assert bool(pair.findings()[1]) is flagged and not pair.findings()[0]
