# Table 8, HD: TF, LD: TF + MSE: the transform everywhere, MSE added on low-disparity positions.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(ld_constraint='transform+mse'))))
