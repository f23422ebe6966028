_base_ = '../../configs/cpu_demo/yolov6_bccd.py'
custom_imports = dict(imports=['dfd_razor'], allow_failed_imports=False)  # BCCDDataset
