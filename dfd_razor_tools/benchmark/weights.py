"""Which arguments of a method recipe's loss are its weights, from the loss's declaration
(:func:`dfd_razor.models.losses.declared_weights`: a new loss needs no edit here), and the ``--cfg-options`` that
scale them."""
import threading
from typing import Dict, List, Mapping

from dfd_razor_tools.benchmark.errors import BenchmarkError
from dfd_razor_tools.paths import absolute

#: Where the weights of a MultiLevelDistiller recipe's loss live (configs/methods/*.py).
LOSS = 'model.distiller.levels.loss.'
_CONFIG_LOCK = threading.Lock()  # Config.fromfile is not thread-safe
_LOSSES: Dict[str, Dict] = {}


def recipe_loss(recipe: str) -> Dict:
    """The loss config of a method recipe (``model.distiller.levels.loss``, a MultiLevelDistiller recipe).

    Raises:
        BenchmarkError: The recipe has no such loss.
    """
    with _CONFIG_LOCK:
        if recipe not in _LOSSES:
            from mmengine.config import Config
            cfg = Config.fromfile(absolute(recipe))
            loss = cfg.get('model', {}).get('distiller', {}).get('levels', {}).get('loss')
            if not loss:
                raise BenchmarkError(f'{recipe}: no {LOSS[:-1]} (the benchmark scales the weights of a '
                                     'MultiLevelDistiller recipe\'s loss, configs/methods/*.py)')
            _LOSSES[recipe] = loss.to_dict()
        return _LOSSES[recipe]


def default_weights(recipe: str) -> Dict[str, float]:
    """The weights a method recipe ships, as its loss declares them (DFD: ``alpha`` and ``beta``)."""
    import dfd_razor  # noqa: F401  (registers the losses the declaration is looked up on)
    from dfd_razor.models.losses import weight_values
    return weight_values(recipe_loss(recipe))


def weight_options(weights: Mapping[str, float], factor: float) -> List[str]:
    """``--cfg-options`` that set every weight to ``factor`` times its value (all of a loss's weights are scaled
    together: DFD keeps the paper's alpha/beta ratio)."""
    return [f'{LOSS}{k}={v * factor:.6g}' for k, v in weights.items()]


def inherit_options(recipe: str) -> List[str]:
    """The ``inherit`` control's options: every weight of the recipe's loss at 0."""
    return [f'{LOSS}{k}=0' for k in default_weights(recipe)]
