_base_ = '../../configs/pairs/yolov8-s_500e_coco.py'
