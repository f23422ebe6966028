# tiny_coco (50 COCO train2017 + 50 val2017 images, see ../shared/data/README.md), person class only, images
# resized to at most 320 pixels: sized for CPU runs. The data root is $DFD_DATA_ROOT/tiny_coco/ (default
# ../shared/data/tiny_coco/ from the repository root); tools/demo.py resolves and sets it.
# Evaluation runs on the 50 TRAINING images: trained from scratch on 50 images (no pretrained weights can be
# downloaded here), a RetinaNet R18 teacher reaches 42.7 person box AP on them after 600 iterations but 0.0 AP
# (0.3 AP50) on the 50 held-out val2017 images, which would compare nothing. The held-out split is one override
# away: test_dataloader.dataset.ann_file=annotations/instances_val2017.json
# test_dataloader.dataset.data_prefix.img=val2017/ test_evaluator.ann_file=<root>/annotations/instances_val2017.json
dataset_type = 'CocoDataset'
data_root = '{{$DFD_DATA_ROOT:../shared/data}}/tiny_coco/'
metainfo = dict(classes=('person', ))
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_train2017.json', metric='bbox')
test_evaluator = val_evaluator
