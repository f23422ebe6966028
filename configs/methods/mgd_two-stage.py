# MGD with the two-stage weight of the MGD paper (alpha_mgd=5e-7 for Faster R-CNN and Mask R-CNN students).
_base_ = './mgd.py'
method = dict(levels=dict(loss=dict(alpha_mgd=5e-7)))
