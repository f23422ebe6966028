# CPU-sized PSPNet on CamVid: dilated ResNet-18 (output stride 8) from scratch (no download), 128-channel PSP head,
# BN instead of SyncBN, iteration-based schedule. The student of the pair is a half-width copy (32-channel stem and
# stages, 64-channel head), so the distillers align channels.
_base_ = ['mmseg::_base_/models/pspnet_r50-d8.py', '../datasets/camvid.py', 'mmseg::_base_/default_runtime.py']
norm_cfg = dict(type='BN', requires_grad=True)
# The Runner gives this top-level data_preprocessor to a model config that has none, i.e. to the distillation
# algorithm of the pairs built on this file: it must pad like the model's own.
data_preprocessor = dict(size_divisor=8)
model = dict(
    pretrained=None,
    data_preprocessor=data_preprocessor,
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=512, channels=128, num_classes=11, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=256, channels=64, num_classes=11, norm_cfg=norm_cfg))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=800, val_interval=400)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=800, by_epoch=False)]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=400, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# distill.sum and distill.ratio averaged over the log window like the losses (mmengine logs other keys' current
# value), so that distill.sum is the sum of the distill.loss_* columns beside it
log_processor = dict(by_epoch=False, mean_pattern=r'.*(loss|time|data_time|grad_norm|distill\.(sum|ratio)).*')
# Seeded, so that a teacher retrained on another machine of the same kind is the same teacher (the benchmark
# records the teacher checkpoint's sha256 with every run; students override the seed per run).
randomness = dict(seed=0)
