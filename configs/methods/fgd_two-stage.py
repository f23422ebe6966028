# FGD with the Faster R-CNN settings of the original repository (yzd-v/FGD, configs/distillers/fgd/
# fgd_cascade_mask_rcnn_rx101_32x4d_distill_faster_rcnn_r50_fpn_2x_coco.py, lines 7-11 and its distill_cfg):
# alpha 5e-5, beta 2.5e-5, gamma 5e-5, lambda 5e-7, on the four FPN levels that have a conv (neck.fpn_convs.0-3);
# the fifth output of Faster R-CNN's FPN is a max-pool of the fourth and is not distilled there.
_base_ = './fgd.py'
method = dict(
    levels=dict(indices=[0, 1, 2, 3],
                loss=dict(alpha_fgd=0.00005, beta_fgd=0.000025, gamma_fgd=0.00005, lambda_fgd=0.0000005)))
