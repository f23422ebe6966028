"""BCCD blood-cell detection (Pascal VOC XML, 3 classes): the held-out detection set of the CPU benchmarks."""
import logging
from typing import Dict, List, Union

from mmdet.datasets import XMLDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log


@DATASETS.register_module()
class BCCDDataset(XMLDataset):
    """BCCD: 640x480 blood-smear microscopy images with RBC, WBC and Platelets boxes.

    `BCCD_Dataset <https://github.com/Shenggan/BCCD_Dataset>`_ (MIT), laid out as Pascal VOC:
    ``<data_root>/Annotations/<id>.xml``, ``<data_root>/JPEGImages/<id>.jpg``, splits in
    ``<data_root>/ImageSets/Main/{train,val}.txt`` (205 and 87 images in this project's copy).

    Boxes with zero (or negative) width or height are annotation noise: two in BCCD (``BloodImage_00338``,
    ``BloodImage_00343``), and left in they make the box regression loss infinite from the first iteration.
    They are dropped when the annotations are read (the image stays), in training and evaluation alike, and the
    dataset logs how many it dropped and where (:attr:`dropped`), rather than training on them silently.

    Example::

        dict(type='BCCDDataset', data_root='data/bccd/', ann_file='ImageSets/Main/val.txt',
             data_prefix=dict(sub_data_root=''), pipeline=[...])

    Args:
        **kwargs: :class:`mmdet.datasets.XMLDataset` arguments (``data_root``, ``ann_file``, ``data_prefix``,
            ``pipeline``, ``filter_cfg``, ``test_mode``, ...).
    """
    METAINFO = dict(classes=('RBC', 'WBC', 'Platelets'), palette=[(220, 20, 60), (0, 0, 230), (0, 160, 0)])

    def __init__(self, **kwargs) -> None:
        #: image id -> number of degenerate boxes dropped from it
        self.dropped: Dict[str, int] = {}
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        self.dropped = {}
        data_list = super().load_data_list()
        if self.dropped:
            where = ', '.join(f'{img_id} ({n})' for img_id, n in sorted(self.dropped.items()))
            print_log(f'{type(self).__name__} ({self.ann_file}): dropped {sum(self.dropped.values())} box(es) with '
                      f'zero width or height: {where}', logger='current', level=logging.WARNING)
        return data_list

    def parse_data_info(self, img_info: dict) -> Union[dict, List[dict]]:
        data_info = super().parse_data_info(img_info)
        kept = [inst for inst in data_info['instances']
                if inst['bbox'][2] > inst['bbox'][0] and inst['bbox'][3] > inst['bbox'][1]]
        if len(kept) != len(data_info['instances']):
            self.dropped[img_info['img_id']] = len(data_info['instances']) - len(kept)
            data_info['instances'] = kept
        return data_info
