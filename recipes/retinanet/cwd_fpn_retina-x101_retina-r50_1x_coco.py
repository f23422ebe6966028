_base_ = ['../../configs/pairs/retina-x101_retina-r50_1x_coco.py', '../../configs/methods/cwd.py']
model = dict(distiller=_base_.method)
