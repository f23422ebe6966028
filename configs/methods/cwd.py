# CWD (Shu et al., 2021) on the neck outputs with MMRazor's ChannelWiseDivergence: tau=1, loss_weight=10, the
# values of MMRazor's RetinaNet and Faster R-CNN recipes alike (so one file serves one- and two-stage pairs).
method = dict(
    levels=dict(
        loss_name='loss_cwd',
        loss=dict(type='ChannelWiseDivergence', tau=1, loss_weight=10),
        inputs=dict(preds_S=dict(from_student=True, recorder='feat'),
                    preds_T=dict(from_student=False, recorder='feat'))))
