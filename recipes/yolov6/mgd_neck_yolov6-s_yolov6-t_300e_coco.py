_base_ = ['../../configs/pairs/yolov6-s_yolov6-t_300e_coco.py', '../../configs/methods/mgd.py']
model = dict(distiller=_base_.method)
