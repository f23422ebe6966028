"""BCCDDataset on the shared copy: classes, counts, the dropped degenerate boxes, and evaluation end points."""
import logging
import os.path as osp
import xml.etree.ElementTree as ET

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

from dfd_razor_tools.data import resolve_data_root
from dfd_razor.datasets import BCCDDataset
from dfd_razor_tools.cpu_pairs import read_metric

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'datasets', 'bccd.py')


@pytest.fixture(scope='module')
def data_root():
    return osp.join(resolve_data_root(['bccd']), 'bccd')


def count_boxes(root, split):
    """Boxes per split read straight from the XML files, and the degenerate ones (zero width or height)."""
    total, degenerate = 0, []
    for img_id in open(osp.join(root, 'ImageSets', 'Main', f'{split}.txt')).read().split():
        for obj in ET.parse(osp.join(root, 'Annotations', f'{img_id}.xml')).getroot().iter('object'):
            box = [float(obj.find('bndbox').find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
            total += 1
            if box[2] <= box[0] or box[3] <= box[1]:
                degenerate.append(img_id)
    return total, degenerate


def build(data_root, split, pipeline=()):
    # a scope of its own, restored on exit: module-scoped fixtures call this outside the per-test scope restore
    with DefaultScope.overwrite_default_scope('mmdet'):
        return BCCDDataset(data_root=data_root, ann_file=f'ImageSets/Main/{split}.txt',
                           data_prefix=dict(sub_data_root=''), test_mode=split == 'val', pipeline=list(pipeline))


@pytest.mark.parametrize('split, images, degenerate', [('train', 205, ['BloodImage_00343']),
                                                      ('val', 87, ['BloodImage_00338'])])
def test_counts_and_dropped_boxes(data_root, split, images, degenerate):
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        ds = build(data_root, split)
    finally:
        logger.removeHandler(handler)
    total, found = count_boxes(data_root, split)
    assert found == degenerate  # the data's README names these two
    assert ds.metainfo['classes'] == ('RBC', 'WBC', 'Platelets')
    assert len(ds) == images
    assert sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds))) == total - len(degenerate)
    assert ds.dropped == {degenerate[0]: 1}
    assert any(f'dropped 1 box(es) with zero width or height: {degenerate[0]} (1)' in m for m in messages)
    labels = {inst['bbox_label'] for i in range(len(ds)) for inst in ds.get_data_info(i)['instances']}
    assert labels == {0, 1, 2}
    assert all(b[2] > b[0] and b[3] > b[1] for i in range(len(ds)) for b in
               (inst['bbox'] for inst in ds.get_data_info(i)['instances']))


def test_both_splits_hold_3943_boxes_in_all(data_root):
    assert count_boxes(data_root, 'train')[0] + count_boxes(data_root, 'val')[0] == 3943


@pytest.fixture(scope='module')
def val_samples(data_root):
    cfg = Config.fromfile(CONFIG)
    ds = build(data_root, 'val', cfg.test_pipeline)
    return cfg, ds, [ds[i]['data_samples'] for i in range(len(ds))]


def evaluate(cfg, ds, samples, predict):
    with DefaultScope.overwrite_default_scope('mmdet'):
        evaluator = Evaluator(cfg.val_evaluator)
    evaluator.dataset_meta = ds.metainfo
    outputs = []
    for sample in samples:
        out = sample.clone()
        out.pred_instances = predict(sample)
        outputs.append(out)
    evaluator.process(outputs)
    return evaluator.evaluate(len(outputs))


def test_perfect_prediction_scores_100_and_empty_0(val_samples, tmp_path):
    from mmengine.structures import InstanceData
    cfg, ds, samples = val_samples

    def perfect(sample):
        gt = sample.gt_instances
        return InstanceData(bboxes=gt.bboxes.clone(), labels=gt.labels.clone(), scores=torch.ones(len(gt)))

    def empty(sample):
        return InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long), scores=torch.zeros(0))

    metrics = evaluate(cfg, ds, samples, perfect)
    assert metrics['pascal_voc/mAP'] == pytest.approx(1.0)
    assert metrics['coco/bbox_mAP'] == pytest.approx(1.0)
    metrics = evaluate(cfg, ds, samples, empty)
    assert metrics['pascal_voc/mAP'] == pytest.approx(0.0)
    assert 'coco/bbox_mAP' not in metrics  # CocoMetric says nothing for no detections; the tools read that as 0
    path = tmp_path / 'metrics.json'
    path.write_text('{"metrics": {}}')
    assert read_metric(str(path), 'coco/bbox_mAP', 100) == 0.0
