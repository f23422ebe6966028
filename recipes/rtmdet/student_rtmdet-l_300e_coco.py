_base_ = '../../configs/pairs/rtmdet-l_300e_coco.py'
