_base_ = ['../../configs/pairs/retina-x101_retina-r50_2x_coco.py', '../../configs/methods/fgd.py']
model = dict(distiller=_base_.method)
