# FitNet-style baseline (./fitnet.py) for student/teacher features whose channels differ: the student map goes
# through dfd_align.py's 1x1 alignment layer.
_base_ = './dfd_align.py'
method = dict(
    levels=dict(
        loss_name='loss_fitnet',
        connectors=dict(trans=None),
        loss=dict(split=False, hd_constraint='mse', alpha=1e-5),
        inputs=dict(s_transformed=None, s_attention=None)))
