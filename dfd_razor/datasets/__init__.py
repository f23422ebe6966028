"""Datasets registered in the OpenMMLab registries of their task (``mmseg.registry.DATASETS``, ...)."""
from .bccd import BCCDDataset
from .camvid import CamVidDataset

__all__ = ['BCCDDataset', 'CamVidDataset']
