_base_ = '../../configs/pairs/td-hm-r18_td-hm-r18half_800i_minicoco.py'
model = dict(_delete_=True, **_base_.student)
