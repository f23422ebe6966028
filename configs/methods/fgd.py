# FGD (Yang et al., CVPR 2022) with FGDLoss, RetinaNet weights of the original repository (yzd-v/FGD,
# configs/distillers/fgd/fgd_retina_rx101_64x4d_distill_retina_r50_fpn_2x_coco.py, lines 7-11): temp 0.5,
# alpha 0.001 (foreground), beta 0.0005 (background), gamma 0.0005 (attention), lambda 5e-6 (global).
# The loss receives the batch's gt boxes from the distiller (FGDLoss.needs_data_samples); its GcBlocks are sized
# by levels.teacher_channels.
method = dict(
    levels=dict(
        loss_name='loss_fgd',
        loss=dict(type='FGDLoss', temp=0.5, alpha_fgd=0.001, beta_fgd=0.0005, gamma_fgd=0.0005, lambda_fgd=0.000005),
        inputs=dict(preds_S=dict(from_student=True, recorder='feat'),
                    preds_T=dict(from_student=False, recorder='feat'))))
