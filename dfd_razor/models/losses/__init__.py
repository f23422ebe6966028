from .dfd_loss import DFDLoss
from .fgd_loss import FGDLoss
from .weights import MMRAZOR_LOSS_WEIGHTS, declared_weights, term_weight, weight_values

__all__ = ['DFDLoss', 'FGDLoss', 'MMRAZOR_LOSS_WEIGHTS', 'declared_weights', 'term_weight', 'weight_values']
