_base_ = '../../configs/pairs/retina-r18_retina-r18half_500i_tinycoco.py'
model = dict(_delete_=True, **_base_.student)
