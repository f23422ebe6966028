"""Datasets registered in the OpenMMLab registries of their task (``mmseg.registry.DATASETS``, ...)."""
from .camvid import CamVidDataset

__all__ = ['CamVidDataset']
