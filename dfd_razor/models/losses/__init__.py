from .dfd_loss import DFDLoss
from .fgd_loss import FGDLoss

__all__ = ['DFDLoss', 'FGDLoss']
