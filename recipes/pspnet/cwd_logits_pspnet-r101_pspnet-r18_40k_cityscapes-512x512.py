_base_ = ['../../configs/pairs/pspnet-r101_pspnet-r18_40k_cityscapes-512x512_logits.py', '../../configs/methods/cwd.py']
model = dict(distiller=_base_.method)
model['distiller'].levels.loss.loss_weight = 5  # MMRazor's cwd_logits_pspnet recipe (tau=1, loss_weight=5)
