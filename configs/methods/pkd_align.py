# PKD (configs/methods/pkd.py) for student/teacher features whose channels differ: PKD normalises each channel and
# compares them one to one, so the student map goes through a 1x1 conv (no norm, no activation), C_S -> C_T.
_base_ = './pkd.py'
method = dict(
    levels=dict(
        connectors=dict(align=dict(type='ConvModuleConnector', kernel_size=1, act_cfg=None)),
        inputs=dict(preds_S=dict(connector='align'))))
