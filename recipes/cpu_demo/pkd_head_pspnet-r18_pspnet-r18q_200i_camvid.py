_base_ = ['../../configs/pairs/pspnet-r18_pspnet-r18q_200i_camvid.py', '../../configs/methods/pkd_align.py']
model = dict(distiller=_base_.method)
