_base_ = ['../../configs/pairs/retina-x101_retina-r50_2x_coco.py', '../../configs/methods/mgd.py']
model = dict(distiller=_base_.method)
