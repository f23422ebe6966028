# Table 9, |F^T - F^S|: strict constraint with power 1 on low-disparity positions.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(strict_power=1.0))))
