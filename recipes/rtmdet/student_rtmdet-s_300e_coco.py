_base_ = '../../configs/pairs/rtmdet-s_300e_coco.py'
