from .dfd_loss import DFDLoss

__all__ = ['DFDLoss']
