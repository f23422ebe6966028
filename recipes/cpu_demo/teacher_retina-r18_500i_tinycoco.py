_base_ = '../../configs/cpu_demo/retina_det.py'
