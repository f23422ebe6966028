_base_ = ['../../configs/pairs/pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py', '../../configs/methods/pkd_align.py']
model = dict(distiller=_base_.method)
