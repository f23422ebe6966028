_base_ = ['../../configs/pairs/rtmdet-m_rtmdet-s_300e_coco.py', '../../configs/methods/pkd_align.py']
model = dict(distiller=_base_.method)
