_base_ = ['../../configs/pairs/rtmdet-m_rtmdet-s_300e_coco.py', '../../configs/methods/mgd.py']
model = dict(distiller=_base_.method)
