_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py'
