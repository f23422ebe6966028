_base_ = '../../configs/pairs/yolov6-t_yolov6-n_300i_bccd.py'
model = dict(_delete_=True, **_base_.student)
