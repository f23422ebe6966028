"""dfd_razor.doctor: the weight arguments it reads per loss type (the unweighted column and suggested weights)."""
from mmrazor.registry import MODELS

import dfd_razor  # noqa: F401
from dfd_razor.doctor import _weight_of, weight_args


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
