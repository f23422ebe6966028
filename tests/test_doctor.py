"""dfd_razor.doctor: the weight arguments it reads per loss type (the unweighted column and suggested weights), and
which connectors it checks for gradient."""
import torch
from mmrazor.registry import MODELS
from torch import nn

import dfd_razor  # noqa: F401
from dfd_razor.doctor import _weight_of, diagnose, weight_args


def test_weight_args_per_loss_type():
    dfd = MODELS.build(dict(type='DFDLoss', alpha=2.8e-5, beta=1e-5))
    assert weight_args(dfd) == {'alpha': 2.8e-5, 'beta': 1e-5}
    assert _weight_of(dfd, 'loss_dfd_fpn0_hd') == 2.8e-5 and _weight_of(dfd, 'loss_dfd_fpn0_ld') == 1e-5
    fgd = MODELS.build(dict(type='FGDLoss', teacher_channels=8, alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=6e-4,
                            lambda_fgd=5e-6))
    assert weight_args(fgd) == {'alpha_fgd': 1e-3, 'beta_fgd': 5e-4, 'gamma_fgd': 6e-4, 'lambda_fgd': 5e-6}
    assert [_weight_of(fgd, f'loss_fgd_fpn0_{t}') for t in ('fg', 'bg', 'attention', 'global')] == \
        [1e-3, 5e-4, 6e-4, 5e-6]
    pkd = MODELS.build(dict(type='PKDLoss', loss_weight=6.0))
    assert weight_args(pkd) == {'loss_weight': 6.0} and _weight_of(pkd, 'loss_pkd_fpn0') == 6.0


class _Toy(nn.Module):
    """A one-conv 'detector' whose conv the recorders tap."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _ToyAlgorithm(nn.Module):
    """What :func:`diagnose` reads of an MMRazor algorithm: student, frozen teacher, a ConfigurableDistiller and a
    ``mode='loss'`` forward that logs the task loss and the ``distill.``-prefixed terms, as SingleTeacherDistill."""

    def __init__(self, teacher_connector: dict) -> None:
        super().__init__()
        self.student, self.teacher = _Toy(4), _Toy(8)
        self.teacher.requires_grad_(False)
        norm_cfg = dict(type='BN', affine=False, track_running_stats=False)
        self.distiller = MODELS.build(dict(
            type='ConfigurableDistiller',
            student_recorders=dict(feat=dict(type='ModuleOutputs', source='conv')),
            teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='conv')),
            connectors=dict(s=dict(type='ConvModuleConnector', in_channel=4, out_channel=8, bias=False,
                                   norm_cfg=norm_cfg, act_cfg=None), t=teacher_connector),
            distill_losses=dict(loss_cwd=dict(type='ChannelWiseDivergence', loss_weight=1)),
            loss_forward_mappings=dict(loss_cwd=dict(
                preds_S=dict(from_student=True, recorder='feat', connector='s'),
                preds_T=dict(from_student=False, recorder='feat', connector='t')))))
        self.distiller.prepare_from_student(self.student)
        self.distiller.prepare_from_teacher(self.teacher)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'loss') -> dict:
        with self.distiller.teacher_recorders, torch.no_grad():
            self.teacher(inputs)
        with self.distiller.student_recorders:
            out = self.student(inputs)
        losses = {'loss_task': out.pow(2).mean()}
        losses.update({f'distill.{k}': v for k, v in self.distiller.compute_distill_losses().items()})
        return losses


def test_parameterless_connector_is_not_checked_for_gradient():
    """MMYOLO's RTMDet recipes normalise the teacher map with a NormConnector whose BN has no affine parameters:
    nothing there can receive gradient, and nothing is wired wrong. It is listed (0 params) but not checked; the
    student-side connector, which has parameters, still is."""
    norm = dict(type='NormConnector', in_channels=8, norm_cfg=dict(type='BN', affine=False, track_running_stats=False))
    torch.manual_seed(0)
    model = _ToyAlgorithm(norm)
    assert not list(model.distiller.connectors['t'].parameters())
    report = diagnose(model, dict(inputs=torch.randn(2, 3, 8, 8), data_samples=None))
    assert report.problems == [] and report.warnings == [], report.table()
    assert report.losses[0].connectors == {'s': 32, 't': 0}
    assert report.terms[0].connector_grad == {'s': True}  # the parameterless one is left out, not shown as NO
    assert report.terms[0].student_grad == {'conv': True}


def test_connector_with_parameters_but_no_gradient_is_still_a_problem():
    """The skip is for connectors without parameters, not for those whose parameters get no gradient (frozen)."""
    frozen = dict(type='ConvModuleConnector', in_channel=8, out_channel=8, bias=False, act_cfg=None,
                  norm_cfg=dict(type='BN', affine=False, track_running_stats=False))
    torch.manual_seed(0)
    model = _ToyAlgorithm(frozen)
    model.distiller.connectors['t'].requires_grad_(False)
    report = diagnose(model, dict(inputs=torch.randn(2, 3, 8, 8), data_samples=None))
    assert report.problems == ['loss_cwd: connector t receives no gradient from any term'], report.table()
    assert report.terms[0].connector_grad == {'s': True, 't': False}


def test_a_student_custom_key_that_reaches_the_distiller_is_named():
    """Issue 41: SegFormer's ``custom_keys={'head': dict(lr_mult=10)}`` is contained in the DFD connector's parameter
    names (``distiller.connectors.trans_head0...``): mmengine gives them 10x the learning rate."""
    from dfd_razor.doctor import custom_key_warnings

    class Algo(nn.Module):
        def __init__(self):
            super().__init__()
            self.architecture = nn.ModuleDict(dict(decode_head=nn.Conv2d(4, 4, 1)))
            self.distiller = nn.Module()
            self.distiller.connectors = nn.ModuleDict(dict(trans_head0=nn.Conv2d(4, 4, 1),
                                                           align_neck0=nn.Conv2d(4, 4, 1)))

    model = Algo()
    optim = dict(paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0), 'norm': dict(decay_mult=0.0)}))
    assert custom_key_warnings(model, optim) == [
        "optim_wrapper.paramwise_cfg.custom_keys['head'] (lr_mult=10) matches 2 distiller parameter(s) "
        "(distiller.connectors.trans_head0): they train at those multipliers; add "
        "custom_keys['distiller']=dict(lr_mult=1.0, decay_mult=1.0) (the longest matching key wins)"]
    optim['paramwise_cfg']['custom_keys']['distiller'] = dict(lr_mult=1.0, decay_mult=1.0)  # the documented fix
    assert custom_key_warnings(model, optim) == []
    assert custom_key_warnings(model, dict(paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=1.0)}))) == []
    assert custom_key_warnings(model, None) == []
