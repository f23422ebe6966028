# Table 10, PKD + Ours: PKD's normalised MSE as the weak constraint (high disparity); no connector.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(hd_constraint='pkd'),
                                        connectors=dict(trans=None), inputs=dict(s_transformed=None))))
