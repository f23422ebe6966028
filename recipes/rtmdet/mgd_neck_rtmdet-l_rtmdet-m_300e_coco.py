_base_ = ['../../configs/pairs/rtmdet-l_rtmdet-m_300e_coco.py', '../../configs/methods/mgd.py']
model = dict(distiller=_base_.method)
