# Table 5, Conv1-3-1(2C): DFD's transform on the whole map, weight alpha.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(split=False))))
