_base_ = 'mmdet::retinanet/retinanet_r50_fpn_2x_coco.py'
