# FGD with the RepPoints weights of the original repository (yzd-v/FGD, configs/distillers/fgd/
# fgd_reppoints_rx101_64x4d_distill_reppoints_r50_fpn_2x_coco.py, lines 7-11): alpha 0.0016, beta 0.0008,
# gamma 0.0008, lambda 8e-6, five FPN levels.
_base_ = './fgd.py'
method = dict(levels=dict(loss=dict(alpha_fgd=0.0016, beta_fgd=0.0008, gamma_fgd=0.0008, lambda_fgd=0.000008)))
