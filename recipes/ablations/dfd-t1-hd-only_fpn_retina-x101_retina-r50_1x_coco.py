# Table 1, HD only: MSE on high-disparity positions, nothing elsewhere; no transform, hence no connector.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(hd_constraint='mse', ld_constraint=None),
                                        connectors=dict(trans=None), inputs=dict(s_transformed=None))))
