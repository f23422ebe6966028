_base_ = ['../../configs/pairs/cascade-mask-x101-dcn_faster-r50_2x_coco.py', '../../configs/methods/fgd_two-stage.py']
model = dict(distiller=_base_.method)
