# CPU-sized RetinaNet on tiny_coco (person): ResNet-18 backbones from scratch (no download), 128-channel FPN,
# iteration-based schedule. This model is the teacher; the pair file (configs/pairs/retina-r18_retina-r18half_*)
# derives the student from it (half-width backbone, same FPN width so the distiller needs no channel alignment).
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', '../datasets/tiny_coco_person.py',
          'mmdet::_base_/default_runtime.py']
model = dict(
    backbone=dict(depth=18, norm_eval=False, frozen_stages=-1, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    bbox_head=dict(num_classes=1, in_channels=128, feat_channels=128, stacked_convs=2))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=500, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, milestones=[375, 460], gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4), clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=500, max_keep_ckpts=1))
# distill.sum and distill.ratio averaged over the log window like the losses (mmengine logs other keys' current
# value), so that distill.sum is the sum of the distill.loss_* columns beside it
log_processor = dict(by_epoch=False, mean_pattern=r'.*(loss|time|data_time|grad_norm|distill\.(sum|ratio)).*')
