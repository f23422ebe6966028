# DFD with the paper's two-stage weights (section 4.1).
_base_ = './dfd.py'
method = dict(levels=dict(loss=dict(alpha=3.5e-7, beta=1e-7)))
