_base_ = 'mmdet::reppoints/reppoints-moment_r50_fpn-gn_head-gn_2x_coco.py'
