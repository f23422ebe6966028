_base_ = '../../configs/pairs/yolov6-t_300e_coco.py'
