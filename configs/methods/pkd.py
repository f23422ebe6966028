# PKD (Cao et al., 2022) with MMRazor's PKDLoss; loss_weight 10 as MMRazor's RetinaNet recipe (one-stage).
method = dict(
    levels=dict(
        loss_name='loss_pkd',
        loss=dict(type='PKDLoss', loss_weight=10),
        inputs=dict(preds_S=dict(from_student=True, recorder='feat'),
                    preds_T=dict(from_student=False, recorder='feat'))))
