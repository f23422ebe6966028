_base_ = '../../configs/pairs/pspnet-r18_40k_cityscapes-512x512.py'
