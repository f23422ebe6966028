_base_ = ['../../configs/pairs/retina-r18_retina-r18q_300i_bccd.py', '../../configs/methods/fitnet.py']
model = dict(distiller=_base_.method)
