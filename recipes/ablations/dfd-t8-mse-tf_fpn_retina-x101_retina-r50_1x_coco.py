# Table 8, HD: MSE, LD: TF: the constraints of DFD swapped.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(hd_constraint='mse', ld_constraint='transform'))))
