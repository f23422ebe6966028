# Table 11, L2 distance: squared attention difference as the disparity map.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(distance='l2'))))
