# CPU-sized top-down heatmap pose (SimpleBaseline) on pose_minicoco: MMPose's ResNet heatmap model with a ResNet-18
# backbone from scratch (no download), three 128-channel deconvolutions, 128x96 input (32x24 heatmaps),
# iteration-based schedule, ground-truth person boxes. This model is the teacher; the pair file
# (configs/pairs/td-hm-r18_td-hm-r18half_*) derives the student (half-width backbone and deconvolutions).
# Evaluation runs on the 53 annotated people of the 30 TRAINING images, for the reason
# configs/datasets/tiny_coco_person.py gives for detection: from scratch on 53 people, a model learns them but
# not the held-out ones. The held-out split is one override away:
# test_dataloader.dataset.ann_file=annotations/person_keypoints_val2017.json
# test_dataloader.dataset.data_prefix.img=images/val2017/
# test_evaluator.ann_file=<root>/annotations/person_keypoints_val2017.json
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py'
data_root = '{{$DFD_DATA_ROOT:../shared/data}}/pose_minicoco/'
max_iters = 800
codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2)
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    head=dict(in_channels=512, deconv_out_channels=(128, 128, 128), deconv_kernel_sizes=(4, 4, 4), decoder=codec))
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30.0, scale_factor=(0.75, 1.25)),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
dataset = dict(
    data_root=data_root, ann_file='annotations/person_keypoints_train2017.json',
    data_prefix=dict(img='images/train2017/'))
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(dataset, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(dataset, bbox_file=None, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_train2017.json')
test_evaluator = val_evaluator
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[600, 740], gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(_delete_=True, type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
# distill.sum and distill.ratio averaged over the log window like the losses (mmengine logs other keys' current
# value), so that distill.sum is the sum of the distill.loss_* columns beside it
log_processor = dict(by_epoch=False, mean_pattern=r'.*(loss|time|data_time|grad_norm|distill\.(sum|ratio)).*')
