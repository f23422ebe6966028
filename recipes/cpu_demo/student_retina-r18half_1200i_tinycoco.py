_base_ = '../../configs/pairs/retina-r18_retina-r18half_1200i_tinycoco.py'
model = dict(_delete_=True, **_base_.student)
