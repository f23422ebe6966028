_base_ = ['../../configs/pairs/yolov6-t_yolov6-n_300i_bccd.py', '../../configs/methods/cwd_align.py']
model = dict(distiller=_base_.method)
