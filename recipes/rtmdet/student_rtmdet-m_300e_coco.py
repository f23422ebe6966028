_base_ = '../../configs/pairs/rtmdet-m_300e_coco.py'
