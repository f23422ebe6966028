_base_ = '../../configs/cpu_demo/yolov6_det.py'
