_base_ = '../../configs/cpu_demo/pspnet_seg.py'
custom_imports = dict(imports=['dfd_razor'], allow_failed_imports=False)  # CamVidDataset
