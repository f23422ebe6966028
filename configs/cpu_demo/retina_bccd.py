# CPU-sized RetinaNet on BCCD (held-out val): ResNet-18 from scratch (no download), 128-channel FPN, two stacked
# head convs, iteration-based schedule. This model is the benchmark's teacher; the pair file
# (configs/pairs/retina-r18_retina-r18q_*_bccd.py) derives the quarter-width student from it. Configs built on it
# import dfd_razor (BCCDDataset): the distillation bases do, the teacher recipe says so itself.
# Anchors start at 16 pixels (octave_base_scale=2 instead of RetinaNet's 4): at 320x240 the platelets are 10-35
# pixels across, and with 32-pixel smallest anchors none of them reaches the 0.5 IoU of a positive match (a RetinaNet
# R18 with the default anchors at this size scored 0.0 platelet AP50).
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', '../datasets/bccd.py', 'mmdet::_base_/default_runtime.py']
model = dict(
    backbone=dict(depth=18, norm_eval=False, frozen_stages=-1, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),
    bbox_head=dict(num_classes=3, in_channels=128, feat_channels=128, stacked_convs=2,
                   anchor_generator=dict(octave_base_scale=2)))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1600, val_interval=400)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, milestones=[1200, 1470], gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4), clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=400, max_keep_ckpts=1))
# distill.sum and distill.ratio averaged over the log window like the losses (mmengine logs other keys' current
# value), so that distill.sum is the sum of the distill.loss_* columns beside it
log_processor = dict(by_epoch=False, mean_pattern=r'.*(loss|time|data_time|grad_norm|distill\.(sum|ratio)).*')
# Seeded, so that a teacher retrained on another machine of the same kind is the same teacher (the benchmark
# records the teacher checkpoint's sha256 with every run; students override the seed per run).
randomness = dict(seed=0)
