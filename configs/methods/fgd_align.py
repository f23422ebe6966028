# FGD (configs/methods/fgd.py) for student/teacher features whose channels differ: as the original's `align`
# (a 1x1 conv, C_S -> C_T, no norm, no activation, applied to the student before everything else), the student
# map goes through a 1x1 ConvModuleConnector; the loss then sees teacher-sized maps only.
_base_ = './fgd.py'
method = dict(
    levels=dict(
        connectors=dict(align=dict(type='ConvModuleConnector', kernel_size=1, act_cfg=None)),
        inputs=dict(preds_S=dict(connector='align'))))
