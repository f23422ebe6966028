"""dfd_razor.models.losses.weights: every loss our recipes use declares its weights, and the doctor reads them."""
import functools
import inspect
import os.path as osp

import pytest
from mmengine.config import Config
from mmrazor.registry import MODELS

import dfd_razor  # noqa: F401
from dfd_razor.doctor import _weight_of, weight_args
from dfd_razor.models.losses import MMRAZOR_LOSS_WEIGHTS, declared_weights, term_weight, weight_values
from testing_helpers import discover

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))


@functools.lru_cache(maxsize=None)
def recipe_losses():
    """Every distinct loss type of the shipped recipes, with one recipe's loss config for it."""
    out = {}
    for path in discover(osp.join(ROOT, 'recipes')):
        model = Config.fromfile(path).model
        distiller = model.get('distiller', {})
        losses = [distiller['levels']['loss']] if 'levels' in distiller else list(
            distiller.get('distill_losses', {}).values())
        for loss in losses:
            out.setdefault(loss['type'], (osp.relpath(path, ROOT), loss.to_dict()))
    return out


def test_every_recipe_loss_declares_weights_that_its_constructor_takes():
    losses = recipe_losses()
    # the methods the recipes ship: DFD, FitNet (DFDLoss unsplit), PKD, MGD, CWD, FGD
    assert {'DFDLoss', 'FGDLoss', 'PKDLoss', 'MGDLoss', 'ChannelWiseDivergence'} <= set(losses)
    for name, (path, cfg) in losses.items():
        declared = declared_weights(cfg)
        assert declared, (name, path)
        params = inspect.signature(MODELS.get(name).__init__).parameters
        assert set(declared) <= set(params), (name, path, declared)


def test_mmrazor_table_rows_are_registered_losses_with_those_arguments():
    for name, weights in MMRAZOR_LOSS_WEIGHTS.items():
        cls = MODELS.get(name)
        assert cls is not None, name
        assert set(weights) <= set(inspect.signature(cls.__init__).parameters), name


def test_declarations_read_from_configs_and_built_losses_alike():
    dfd = dict(type='DFDLoss', alpha=3.0, beta=0.5)
    assert declared_weights(dfd) == {'alpha': ('hd', ), 'beta': ('ld', )}
    assert weight_values(dfd) == {'alpha': 3.0, 'beta': 0.5}
    assert weight_values(MODELS.build(dfd)) == {'alpha': 3.0, 'beta': 0.5}
    fitnet = dict(type='DFDLoss', split=False, hd_constraint='mse', alpha=7.0)  # unsplit: alpha scales all
    assert weight_values(fitnet) == {'alpha': 7.0}
    assert term_weight(fitnet, 'loss_fitnet_fpn0_all') == 7.0
    assert term_weight(dfd, 'loss_dfd_fpn3_ld') == 0.5 and term_weight(dfd, 'loss_dfd_fpn3_hd') == 3.0
    assert weight_values(dict(type='DFDLoss')) == {'alpha': 2.8e-5, 'beta': 1e-5}  # the constructor's defaults
    assert weight_values(dict(type='MGDLoss', alpha_mgd=0.25)) == {'alpha_mgd': 0.25}
    assert term_weight(dict(type='PKDLoss', loss_weight=6.0), 'loss_pkd_fpn0') == 6.0


def test_doctor_reads_the_declaration_of_every_recipe_loss():
    for name, (path, cfg) in recipe_losses().items():
        params = inspect.signature(MODELS.get(name).__init__).parameters
        # per-level arguments the distiller fills in when it expands the levels (FGD's teacher_channels)
        filled = {k: 8 for k, p in params.items() if k.endswith('channels') and p.default is inspect.Parameter.empty}
        module = MODELS.build({**filled, **cfg})
        assert weight_args(module) == weight_values(cfg), (name, path)
        for arg, suffixes in declared_weights(cfg).items():
            term = f'loss_x_fpn0_{suffixes[0]}' if suffixes else 'loss_x_fpn0'
            assert _weight_of(module, term) == float(cfg.get(arg, weight_values(cfg)[arg])), (name, arg)


def test_an_undeclared_loss_is_an_error_naming_it():
    class NoWeights:  # not an nn.Module and no table row
        def __init__(self, scale: float = 1.0) -> None:
            self.scale = scale

    MODELS.register_module(name='_NoWeightsLoss', module=NoWeights, force=True)
    try:
        with pytest.raises(KeyError, match='_NoWeightsLoss declares no weights'):
            declared_weights(dict(type='_NoWeightsLoss'))
    finally:
        MODELS._module_dict.pop('_NoWeightsLoss', None)
    with pytest.raises(KeyError, match="'NoSuchLoss' is not a registered loss"):
        declared_weights(dict(type='NoSuchLoss'))
