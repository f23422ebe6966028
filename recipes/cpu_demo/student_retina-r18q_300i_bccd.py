_base_ = '../../configs/pairs/retina-r18_retina-r18q_300i_bccd.py'
model = dict(_delete_=True, **_base_.student)
