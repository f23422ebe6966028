_base_ = ['../../configs/pairs/reppoints-x101-dcn_reppoints-r50_2x_coco.py', '../../configs/methods/fgd_reppoints.py']
model = dict(distiller=_base_.method)
