_base_ = ['../../configs/pairs/pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py', '../../configs/methods/mgd.py']
model = dict(distiller=_base_.method)
model['distiller'].levels.connectors.gen.lambda_mgd = 0.75  # MGD's segmentation setting (alpha_mgd 2e-5 as mgd.py)
