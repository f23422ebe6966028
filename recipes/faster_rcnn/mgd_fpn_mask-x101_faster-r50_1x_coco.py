_base_ = ['../../configs/pairs/mask-x101_faster-r50_1x_coco.py', '../../configs/methods/mgd_two-stage.py']
model = dict(distiller=_base_.method)
