# The demo's BCCD teacher (tools/demo.py, default task): the benchmark teacher (teacher_retina-r18_1600i_bccd.py)
# on half its schedule, so that a first `make demo` fits 20 minutes of a 2-core machine, teacher included.
_base_ = './teacher_retina-r18_1600i_bccd.py'
train_cfg = dict(max_iters=800, val_interval=800)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, milestones=[600, 735], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=800))
