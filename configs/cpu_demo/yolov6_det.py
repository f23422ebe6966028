# CPU-sized YOLOv6 on tiny_coco (person): MMYOLO's YOLOv6-T from scratch (no download), 320x320 letterboxed
# input, iteration-based schedule. This model is the teacher; the pair file (configs/pairs/yolov6-t_yolov6-n_*)
# derives the student, YOLOv6-N (widen 0.25 instead of 0.375). Kept from MMYOLO's recipe: the model, its losses and assigners, the YOLOv5 optimizer constructor and
# the EMA hook (the student's EMA weights are what evaluation and export use). Changed for 50 images on a CPU:
# - no Mosaic/RandomAffine (with 26 person images they hide the boxes the model has to fit in a few hundred
#   iterations), hence no PipelineSwitchHook;
# - an IterBasedTrainLoop with mmengine's LinearLR warm-up + CosineAnnealingLR instead of YOLOv5ParamSchedulerHook
#   (whose warm-up lasts at least 1000 iterations). MMYOLO's head picks its assigner by epoch, which stays 0 in an
#   iteration-based loop: the ATSS assigner of YOLOv6's first epochs is used throughout;
# - evaluation on the 50 TRAINING images, for the reason configs/datasets/tiny_coco_person.py gives.
_base_ = 'mmyolo::yolov6/yolov6_t_syncbn_fast_8xb32-300e_coco.py'
data_root = '{{$DFD_DATA_ROOT:../shared/data}}/tiny_coco/'
metainfo = dict(classes=('person', ))
img_scale = (320, 320)
max_iters = 500
model = dict(bbox_head=dict(head_module=dict(num_classes=1)),
             train_cfg=dict(initial_assigner=dict(num_classes=1), assigner=dict(num_classes=1)))
pre_transform = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]
train_pipeline = [
    *pre_transform,
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=True, pad_val=dict(img=114)),
    dict(type='YOLOv5HSVRandomAug'),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'flip', 'flip_direction'))
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=False, pad_val=dict(img=114)),
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pad_param'))
]
dataset = dict(
    data_root=data_root,
    metainfo=metainfo,
    ann_file='annotations/instances_train2017.json',
    data_prefix=dict(img='train2017/'))
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    # MMEngine tags dicts inherited through `mmyolo::` with `_scope_`, which yolov5_collate rejects: restated.
    collate_fn=dict(_delete_=True, type='yolov5_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(dataset, filter_cfg=dict(filter_empty_gt=True, min_size=8), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(dataset, test_mode=True, batch_shapes_cfg=None, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_train2017.json')
test_evaluator = val_evaluator
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=0.01, batch_size_per_gpu=8), clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=False, begin=50, end=max_iters)
]
default_hooks = dict(
    param_scheduler=dict(_delete_=True, type='ParamSchedulerHook'),
    logger=dict(interval=20),
    checkpoint=dict(_delete_=True, type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001, update_buffers=True, strict_load=False,
         priority=49)
]
log_processor = dict(by_epoch=False)
