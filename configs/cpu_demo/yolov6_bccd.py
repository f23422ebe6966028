# CPU-sized YOLOv6 on BCCD (configs/datasets/bccd.py: 205 train, 87 held-out val images, RBC/WBC/Platelets): MMYOLO's
# YOLOv6-T from scratch (no download), 3 classes, iteration-based schedule. This model is the teacher of the MMYOLO
# held-out pair; the pair file (configs/pairs/yolov6-t_yolov6-n_*_bccd.py) derives the student, YOLOv6-N (widen 0.25
# instead of 0.375). Configs built on it import dfd_razor (BCCDDataset, registered in mmdet's registry, hence the
# `mmdet.` scope of the dataset and metric types): the distillation bases do, the teacher recipe says so itself.
# Kept from MMYOLO's recipe: the model, its losses and assigners, the YOLOv5 optimizer constructor and the EMA hook
# (the EMA weights are what evaluation and export use). Changed for 205 images on a CPU:
# - images resized by half (320x240, as the RetinaNet pair: cells 10-145 pixels across) and letterboxed to 320x256
#   (divisible by the largest stride, 32); flips both ways (microscopy has no up or down), YOLO's HSV jitter;
# - no Mosaic/RandomAffine (on a few hundred iterations they hide the boxes the model has to fit), hence no
#   PipelineSwitchHook;
# - an IterBasedTrainLoop with mmengine's LinearLR warm-up + CosineAnnealingLR instead of YOLOv5ParamSchedulerHook
#   (whose warm-up lasts at least 1000 iterations). MMYOLO's head picks its assigner by epoch, which stays 0 in an
#   iteration-based loop: the ATSS assigner of YOLOv6's first epochs is used throughout;
# - evaluation on the held-out val split: VOC mAP@0.5 and COCO-style mAP@[0.5:0.95], from the dataset's own boxes.
_base_ = 'mmyolo::yolov6/yolov6_t_syncbn_fast_8xb32-300e_coco.py'
data_root = '{{$DFD_DATA_ROOT:../shared/data}}/bccd/'
dataset_type = 'mmdet.BCCDDataset'
num_classes = 3
img_scale = (320, 256)  # width, height
max_iters = 1000
model = dict(bbox_head=dict(head_module=dict(num_classes=num_classes)),
             train_cfg=dict(initial_assigner=dict(num_classes=num_classes), assigner=dict(num_classes=num_classes)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=True, pad_val=dict(img=114)),
    dict(type='YOLOv5HSVRandomAug'),
    dict(type='mmdet.RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'flip', 'flip_direction'))
]
# annotations loaded after the resize: the ground truth stays at the original scale, where the predictions are
# rescaled to (VOCMetric reads gt_instances; CocoMetric, without an annotation file, the `instances` meta key)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=False, pad_val=dict(img=114)),
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'pad_param', 'instances'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    # MMEngine tags dicts inherited through `mmyolo::` with `_scope_`, which yolov5_collate rejects: restated.
    collate_fn=dict(_delete_=True, type='yolov5_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Main/train.txt',
        data_prefix=dict(sub_data_root=''),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Main/val.txt',
        data_prefix=dict(sub_data_root=''),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='mmdet.VOCMetric', metric='mAP', iou_thrs=[0.5], eval_mode='area'),
    dict(type='mmdet.CocoMetric', ann_file=None, metric='bbox'),
]
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
# distill.sum and distill.ratio averaged over the log window like the losses (mmengine logs other keys' current
# value), so that distill.sum is the sum of the distill.loss_* columns beside it
log_processor = dict(by_epoch=False, mean_pattern=r'.*(loss|time|data_time|grad_norm|distill\.(sum|ratio)).*')
# Seeded, so that the records' teacher can be retrained (the benchmark records its checkpoint's sha256).
randomness = dict(seed=0)
