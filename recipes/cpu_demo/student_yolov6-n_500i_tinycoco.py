_base_ = '../../configs/pairs/yolov6-t_yolov6-n_500i_tinycoco.py'
model = dict(_delete_=True, **_base_.student)
