_base_ = ['../../configs/pairs/rtmdet-ins-s_rtmdet-ins-tiny_300e_coco.py', '../../configs/methods/dfd_align.py']
model = dict(distiller=_base_.method)
