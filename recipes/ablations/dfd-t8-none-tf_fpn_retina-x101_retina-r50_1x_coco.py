# Table 8, HD: -, LD: TF: the transform (weight beta) on low-disparity positions only.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(hd_constraint=None, ld_constraint='transform'))))
