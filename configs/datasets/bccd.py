# BCCD blood-cell detection (205 train + 87 val images, 640x480, RBC/WBC/Platelets; ../shared/data/README.md) for
# CPU runs, with dfd_razor's BCCDDataset (drops the two zero-size boxes and says so). Images are resized to 320x240
# (half size): the cells are 20-290 pixels across at full size. The data root is $DFD_DATA_ROOT/bccd/ (default
# ../shared/data/bccd/ from the repository root); tools/demo.py and the benchmark resolve and set it.
# Evaluation runs on the held-out `val` split with two metrics: VOC mAP@0.5 ('pascal_voc/mAP', area-based AP) and
# COCO-style mAP@[0.5:0.95] ('coco/bbox_mAP', the headline of the benchmarks: it rewards localisation, where
# AP50 is near its ceiling for the large cells). CocoMetric builds its ground truth from the dataset's own
# annotations (ann_file=None), which the test pipeline passes on in `instances`.
dataset_type = 'BCCDDataset'
data_root = '{{$DFD_DATA_ROOT:../shared/data}}/bccd/'
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 240), keep_ratio=True),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),  # microscopy has no up or down
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(320, 240), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'instances'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Main/train.txt',
        data_prefix=dict(sub_data_root=''),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Main/val.txt',
        data_prefix=dict(sub_data_root=''),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='VOCMetric', metric='mAP', iou_thrs=[0.5], eval_mode='area'),
    dict(type='CocoMetric', ann_file=None, metric='bbox'),
]
test_evaluator = val_evaluator
