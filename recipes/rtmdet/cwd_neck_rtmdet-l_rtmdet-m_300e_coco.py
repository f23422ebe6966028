_base_ = ['../../configs/pairs/rtmdet-l_rtmdet-m_300e_coco.py', '../../configs/methods/cwd_align.py']
model = dict(distiller=_base_.method)
# MMYOLO's own CWD weight for this pair (mmyolo::rtmdet/distillation/kd_m_rtmdet_l_neck_300e_coco.py); tau 1
model['distiller'].levels.loss.update(loss_weight=1)
