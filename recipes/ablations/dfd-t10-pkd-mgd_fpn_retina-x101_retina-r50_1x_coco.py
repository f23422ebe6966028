# Table 10, PKD + MGD: PKD as the weak constraint (high disparity), MGD's generation as the strict one (low).
_base_ = '../retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py'
model = dict(distiller=dict(levels=dict(
    loss=dict(hd_constraint='pkd', ld_constraint='transform'),
    connectors=dict(trans=dict(_delete_=True, type='MGDConnector', lambda_mgd=0.65)))))
