_base_ = '../../configs/pairs/td-hm-mbv2_210e_coco-256x192.py'
