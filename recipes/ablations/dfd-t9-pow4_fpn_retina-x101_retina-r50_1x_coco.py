# Table 9, |F^T - F^S|^4: strict constraint with power 4 on low-disparity positions.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(strict_power=4.0))))
