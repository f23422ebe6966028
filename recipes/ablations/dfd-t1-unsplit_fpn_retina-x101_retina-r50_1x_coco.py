# Table 1, HD+LD unsplit: MSE on the whole map with one weight, beta's value 1e-5 (DFD's MSE weight).
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(loss=dict(split=False, hd_constraint='mse', alpha=1e-5),
                                        connectors=dict(trans=None), inputs=dict(s_transformed=None))))
