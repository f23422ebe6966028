_base_ = ['../../configs/pairs/rtmdet-x_rtmdet-l_300e_coco.py', '../../configs/methods/cwd_align.py']
model = dict(distiller=_base_.method)
# MMYOLO's own CWD weight for this pair (mmyolo::rtmdet/distillation/kd_l_rtmdet_x_neck_300e_coco.py); tau 1
model['distiller'].levels.loss.update(loss_weight=1)
