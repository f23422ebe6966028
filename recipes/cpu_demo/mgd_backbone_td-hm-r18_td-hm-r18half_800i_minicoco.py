_base_ = ['../../configs/pairs/td-hm-r18_td-hm-r18half_800i_minicoco.py', '../../configs/methods/mgd.py']
model = dict(distiller=_base_.method)
