_base_ = ['../../configs/pairs/td-hm-r18_td-hm-r18half_800i_minicoco.py', '../../configs/methods/fitnet_align.py']
model = dict(distiller=_base_.method)
