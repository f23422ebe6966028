# Table 5, Conv3-3: the transform (two 3x3 convolutions, width C) on the whole map, weight alpha.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(split=False),
                                        connectors=dict(trans=dict(structure='conv3-3', expansion=1.0)))))
