# Table 1, LD only: MSE (weight beta) on low-disparity positions, nothing elsewhere; no connector.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(hd_constraint=None),
                                        connectors=dict(trans=None), inputs=dict(s_transformed=None))))
