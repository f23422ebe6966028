# DFD (configs/methods/dfd.py) for student/teacher features whose channels differ (YOLOv6-T/S necks, pose
# backbones, PSPNet decode heads). Eqs. 5-6 compare student and teacher maps channel by channel, so the student
# map is brought to the teacher's channels first:
# - LD (strict MSE, eq. 6): s_feature goes through `align`, a 1x1 conv without norm or activation (the FitNets /
#   MGD adaptation layer), C_S -> C_T;
# - HD (weak constraint, eq. 5): the transform f_trans (DFDConnector) maps C_S -> C_T itself;
# - the HD/LD mask (eqs. 2-4) uses the raw student map (s_attention): A(F) averages |F| over channels, so it needs
#   no alignment, and the mask then does not depend on a freshly initialised layer.
# MultiLevelDistiller fills in_channel(s)/out_channel(s) from `levels.student_channels/teacher_channels`.
_base_ = './dfd.py'
method = dict(
    levels=dict(
        connectors=dict(align=dict(type='ConvModuleConnector', kernel_size=1, act_cfg=None)),
        inputs=dict(
            s_feature=dict(connector='align'),
            s_attention=dict(from_student=True, recorder='feat'))))
