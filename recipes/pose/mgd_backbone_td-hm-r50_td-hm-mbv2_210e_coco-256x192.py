_base_ = ['../../configs/pairs/td-hm-r50_td-hm-mbv2_210e_coco-256x192.py', '../../configs/methods/mgd.py']
model = dict(distiller=_base_.method)
