# Table 10, MGD + Ours: MGD's masked generation as the weak constraint (high disparity), MSE on the rest.
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(
    connectors=dict(trans=dict(_delete_=True, type='MGDConnector', lambda_mgd=0.65)))))
