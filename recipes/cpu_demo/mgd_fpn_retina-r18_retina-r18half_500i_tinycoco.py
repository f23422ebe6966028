_base_ = ['../../configs/pairs/retina-r18_retina-r18half_500i_tinycoco.py', '../../configs/methods/mgd.py']
model = dict(distiller=_base_.method)
