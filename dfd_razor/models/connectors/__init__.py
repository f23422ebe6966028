from .dfd_connector import DFDConnector

__all__ = ['DFDConnector']
