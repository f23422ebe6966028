_base_ = ['../../configs/pairs/faster-r101_faster-r50_1x_coco.py', '../../configs/methods/dfd_two-stage.py']
model = dict(distiller=_base_.method)
