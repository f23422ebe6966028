_base_ = '../../configs/pairs/pspnet-r18_pspnet-r18q_200i_camvid.py'
model = dict(_delete_=True, **_base_.student)
