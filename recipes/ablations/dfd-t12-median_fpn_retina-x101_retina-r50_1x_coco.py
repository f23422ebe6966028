# Table 12, median: the median of the disparity map as the threshold.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(threshold='median'))))
