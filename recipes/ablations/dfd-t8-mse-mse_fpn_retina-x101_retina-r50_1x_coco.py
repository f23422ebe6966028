# Table 8, HD: MSE, LD: MSE: the switches of table 1's split row (the paper reports 39.7 here, 40.0 there).
_base_ = './dfd-t1-split_fpn_retina-x101_retina-r50_1x_coco.py'
