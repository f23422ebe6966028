_base_ = ['../../configs/pairs/yolov8-m_yolov8-s_500e_coco.py', '../../configs/methods/cwd_align.py']
model = dict(distiller=_base_.method)
