# CamVid (367 train + 101 val road scenes at 240x180, 11 classes, void ignored; ../shared/data/README.md) for CPU
# runs, with dfd_razor's CamVidDataset. The data root is $DFD_DATA_ROOT/camvid/ (default ../shared/data/camvid/
# from the repository root); tools/demo.py resolves and sets it. A config using it imports dfd_razor (custom_imports),
# where CamVidDataset is registered: distillation bases do; plain models set it themselves.
dataset_type = 'CamVidDataset'
data_root = '{{$DFD_DATA_ROOT:../shared/data}}/camvid/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(240, 180), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(176, 176), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/train', seg_map_path='labels/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
