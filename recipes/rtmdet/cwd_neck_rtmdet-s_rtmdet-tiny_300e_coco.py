_base_ = ['../../configs/pairs/rtmdet-s_rtmdet-tiny_300e_coco.py', '../../configs/methods/cwd_align.py']
model = dict(distiller=_base_.method)
# MMYOLO's own CWD weight for this pair (mmyolo::rtmdet/distillation/kd_tiny_rtmdet_s_neck_300e_coco.py); tau 1
model['distiller'].levels.loss.update(loss_weight=1)
