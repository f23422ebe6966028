_base_ = '../../configs/pairs/rtmdet-tiny_300e_coco.py'
