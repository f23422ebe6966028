# PKD with MMRazor's two-stage (Faster R-CNN) weight.
_base_ = './pkd.py'
method = dict(levels=dict(loss=dict(loss_weight=6)))
