# The CamVid benchmark teacher: the demo's PSPNet R18-d8 trained twice as long (1600 iterations).
_base_ = '../../configs/cpu_demo/pspnet_seg.py'
custom_imports = dict(imports=['dfd_razor'], allow_failed_imports=False)  # CamVidDataset
train_cfg = dict(max_iters=1600, val_interval=400)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=1600, by_epoch=False)]
