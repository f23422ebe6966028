# Table 5, Conv1-3-1(0.5C): the transform, hidden width C/2, on the whole map, weight alpha.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(split=False), connectors=dict(trans=dict(expansion=0.5)))))
