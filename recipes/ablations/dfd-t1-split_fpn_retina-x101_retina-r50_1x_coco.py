# Table 1, split: MSE on both regions, alpha on high-, beta on low-disparity positions; no connector.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(hd_constraint='mse'),
                                        connectors=dict(trans=None), inputs=dict(s_transformed=None))))
