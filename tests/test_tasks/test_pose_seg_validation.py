"""The pose and segmentation DFD recipes validate with their task's metric on small real data.

Each test builds the recipe as a Runner would (the distillation algorithm, whose predictions are the student's),
points its val dataloader at a small real dataset from ../shared/data with `--cfg-options`-style overrides, runs
the val loop and checks the metric: COCO keypoint AP on pose_minicoco (ground-truth person boxes) and mIoU on
CamVid (`CamVidDataset`, 11 classes, void ignored). The teacher is left random (`allow_random_teacher`):
validation runs the student only. Weights are random too, so the values are near 0; what is checked is that the
metric is computed, finite and in range.
"""
import math
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import DATASETS

from dfd_razor.datasets.camvid import CAMVID_VOID, CamVidDataset
from testing_helpers import load_recipe, offline_options

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DATA = os.environ.get('DFD_DATA_ROOT', osp.join(ROOT, '..', 'shared', 'data'))
POSE_MINICOCO = osp.join(DATA, 'pose_minicoco') + '/'
CAMVID = osp.join(DATA, 'camvid') + '/'
POSE_RECIPE = osp.join(ROOT, 'recipes', 'pose', 'dfd_backbone_td-hm-r50_td-hm-mbv2_210e_coco-256x192.py')
SEG_RECIPE = osp.join(ROOT, 'recipes', 'pspnet', 'dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py')
LOADER = dict(num_workers=0, persistent_workers=False)


def _validate(recipe, options, tmp_path):
    cfg = load_recipe(recipe)
    base = offline_options(cfg)
    # save_best would make the CheckpointHook build the training set after validation: a val-only run has none.
    base.update({'model.teacher_ckpt': None, 'model.allow_random_teacher': True, 'work_dir': str(tmp_path),
                 'log_level': 'WARNING', 'default_hooks.checkpoint.save_best': None})
    for key, value in options.items():
        if key.startswith('model.architecture.'):  # into the offline student config, not beside it
            node = base['model.architecture']
            *path, leaf = key[len('model.architecture.'):].split('.')
            for part in path:
                node = node[part]
            node[leaf] = value
        else:
            base[key] = value
    runner = Runner.from_cfg(load_recipe(recipe, base))
    return runner.val()


def _check(metrics, keys):
    for key in keys:
        assert key in metrics, f'{key} not in {sorted(metrics)}'
    for key, value in metrics.items():
        assert math.isfinite(value) and 0 <= value <= 100, f'{key}={value}'


@pytest.mark.skipif(not osp.isdir(POSE_MINICOCO), reason=f'pose_minicoco not found at {POSE_MINICOCO}')
def test_pose_recipe_validates_keypoint_ap_on_pose_minicoco(tmp_path):
    metrics = _validate(POSE_RECIPE, {
        'val_dataloader': dict(LOADER, batch_size=8, dataset=dict(
            data_root=POSE_MINICOCO, data_prefix=dict(img='images/val2017/'), bbox_file=None)),
        'val_evaluator.ann_file': POSE_MINICOCO + 'annotations/person_keypoints_val2017.json',
    }, tmp_path)
    _check(metrics, ['coco/AP', 'coco/AP .5', 'coco/AR'])


@pytest.mark.skipif(not osp.isdir(CAMVID), reason=f'camvid not found at {CAMVID}')
def test_segmentation_recipe_validates_miou_on_camvid(tmp_path):
    num_classes = len(CamVidDataset.METAINFO['classes'])
    metrics = _validate(SEG_RECIPE, {
        'model.architecture.decode_head.num_classes': num_classes,
        'model.architecture.auxiliary_head.num_classes': num_classes,
        'val_dataloader': dict(LOADER, dataset=dict(
            _delete_=True, type='CamVidDataset', data_root=CAMVID, indices=4,
            data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')])),
    }, tmp_path)
    _check(metrics, ['mIoU', 'aAcc', 'mAcc'])


@pytest.mark.skipif(not osp.isdir(CAMVID), reason=f'camvid not found at {CAMVID}')
def test_camvid_dataset_maps_void_to_ignore():
    init_default_scope('mmseg')
    dataset = DATASETS.build(dict(
        type='CamVidDataset', data_root=CAMVID, data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]))
    assert len(dataset) == 101 and dataset.metainfo['label_map'] == {CAMVID_VOID: 255}
    sample = dataset[0]
    raw = mmcv.imread(sample['seg_map_path'], flag='unchanged')
    labels = sample['gt_seg_map']
    assert (raw == CAMVID_VOID).any(), 'the first val label has no void pixel: pick another image'
    assert np.array_equal(labels == 255, raw == CAMVID_VOID)
    assert set(np.unique(labels)) <= set(range(CAMVID_VOID)) | {255}
    # A class subset keeps BaseSegDataset's remapping and still drops void.
    subset = DATASETS.build(dict(
        type='CamVidDataset', data_root=CAMVID, data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
        metainfo=dict(classes=('Road', 'Car')), pipeline=[]))
    assert subset.metainfo['label_map'][3] == 0 and subset.metainfo['label_map'][8] == 1
    assert subset.metainfo['label_map'][0] == 255 and subset.metainfo['label_map'][CAMVID_VOID] == 255
