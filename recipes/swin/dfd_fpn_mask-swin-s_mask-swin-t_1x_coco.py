_base_ = ['../../configs/pairs/mask-swin-s_mask-swin-t_1x_coco.py', '../../configs/methods/dfd_two-stage.py']
model = dict(distiller=_base_.method)
