"""Which arguments of a distillation loss are its weights, and which logged terms each one scales.

One declaration per loss, read by every tool that scales, reports or suggests weights (the doctor, the method
comparison, the demo), so that a new loss needs no edit outside its own file:

- a loss class of this package declares itself with a classmethod ``weight_terms(args) -> {arg: terms}``, where
  ``args`` are its constructor arguments (defaults filled in) and ``terms`` the suffixes of the logged terms that
  argument multiplies (``('hd',)``: the loss's ``..._hd`` entry); an empty tuple means the whole output;
- the MMRazor losses our recipes use are declared in :data:`MMRAZOR_LOSS_WEIGHTS`, the one table for them.

A loss with no declaration is an error naming its type, never a silent guess.
"""
import inspect
from typing import Any, Dict, Mapping, Tuple, Type, Union

from mmrazor.registry import MODELS
from torch import nn

WeightTerms = Dict[str, Tuple[str, ...]]

#: MMRazor's losses (and a loss of MMRazor's that our recipes use), each with the argument that multiplies its
#: whole output.
MMRAZOR_LOSS_WEIGHTS: Dict[str, WeightTerms] = {
    'PKDLoss': {'loss_weight': ()},
    'MGDLoss': {'alpha_mgd': ()},
    'ChannelWiseDivergence': {'loss_weight': ()},
    'KLDivergence': {'loss_weight': ()},
    'L2Loss': {'loss_weight': ()},
    'L1Loss': {'loss_weight': ()},
    'ATLoss': {'loss_weight': ()},
    'FTLoss': {'loss_weight': ()},
}


def _loss_class(loss: Union[str, Type[nn.Module]]) -> Tuple[str, Type[nn.Module]]:
    if isinstance(loss, str):
        cls = MODELS.get(loss)
        if cls is None:
            raise KeyError(f'{loss!r} is not a registered loss of mmrazor.registry.MODELS')
        return loss, cls
    return loss.__name__, loss


def _arguments(cls: Type[nn.Module], given: Mapping[str, Any]) -> Dict[str, Any]:
    """The constructor's arguments: its defaults, overridden by ``given``."""
    params = inspect.signature(cls.__init__).parameters
    args = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    args.update({k: v for k, v in given.items() if k != 'type'})
    return args


def declared_weights(loss: Union[Mapping[str, Any], nn.Module]) -> WeightTerms:
    """The weight arguments of a loss and the logged terms each one scales.

    Args:
        loss (Mapping | nn.Module): A loss config (``dict(type='DFDLoss', alpha=..., ...)``) or a built loss.

    Returns:
        dict[str, tuple[str, ...]]: Weight argument -> term suffixes it multiplies (empty: the whole output), in
        the order the loss declares them.

    Raises:
        KeyError: The loss type declares no weights (add ``weight_terms`` to its class, or a row to
            :data:`MMRAZOR_LOSS_WEIGHTS`).
    """
    if isinstance(loss, nn.Module):
        cls: Type[nn.Module] = type(loss)
        name = cls.__name__
        params = inspect.signature(cls.__init__).parameters
        given = {k: getattr(loss, k) for k in params if k != 'self' and hasattr(loss, k)}
    else:
        if 'type' not in loss:
            raise KeyError(f'a loss config needs a type to declare its weights, got keys {sorted(loss)}')
        name, cls = _loss_class(loss['type'])
        given = dict(loss)
    if hasattr(cls, 'weight_terms'):
        return dict(cls.weight_terms(_arguments(cls, given)))  # type: ignore[attr-defined]
    if name in MMRAZOR_LOSS_WEIGHTS:
        return dict(MMRAZOR_LOSS_WEIGHTS[name])
    raise KeyError(f'{name} declares no weights: give the class a classmethod weight_terms(args) (see '
                   'dfd_razor/models/losses/weights.py) or add it to MMRAZOR_LOSS_WEIGHTS')


def weight_values(loss: Union[Mapping[str, Any], nn.Module]) -> Dict[str, float]:
    """The current value of each declared weight argument of a loss config or a built loss."""
    terms = declared_weights(loss)
    if isinstance(loss, nn.Module):
        return {k: float(getattr(loss, k)) for k in terms}
    _, cls = _loss_class(loss['type'])
    args = _arguments(cls, loss)
    missing = [k for k in terms if k not in args]
    if missing:
        raise KeyError(f'{loss["type"]}: the config sets no value for its weight argument(s) {missing}')
    return {k: float(args[k]) for k in terms}


def term_weight(loss: Union[Mapping[str, Any], nn.Module], term: str) -> float:
    """The weight that multiplied a logged term (``'loss_dfd_fpn0_ld'``): the argument declared for the term's
    suffix, else the one that scales the whole output.

    Raises:
        KeyError: No declared weight scales ``term``.
    """
    values = weight_values(loss)
    whole = None
    for arg, suffixes in declared_weights(loss).items():
        if any(term.endswith(f'_{s}') for s in suffixes):
            return values[arg]
        if not suffixes:
            whole = values[arg]
    if whole is None:
        raise KeyError(f'no declared weight of {type(loss).__name__ if isinstance(loss, nn.Module) else loss["type"]} '
                       f'scales the term {term!r}')
    return whole
