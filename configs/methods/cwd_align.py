# CWD (configs/methods/cwd.py) for student/teacher features whose channels differ: the channel-wise distributions
# are matched one to one, so the student map goes through a 1x1 conv (no norm, no activation), C_S -> C_T.
# (MGD needs no variant: MMRazor's MGDConnector aligns student to teacher channels itself.)
_base_ = './cwd.py'
method = dict(
    levels=dict(
        connectors=dict(align=dict(type='ConvModuleConnector', kernel_size=1, act_cfg=None)),
        inputs=dict(preds_S=dict(connector='align'))))
