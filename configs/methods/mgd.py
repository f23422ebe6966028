# MGD (Yang et al., 2022) with MMRazor's MGDConnector and MGDLoss; one-stage weights of MMRazor's RetinaNet recipe.
method = dict(
    levels=dict(
        loss_name='loss_mgd',
        connectors=dict(gen=dict(type='MGDConnector', lambda_mgd=0.65)),
        loss=dict(type='MGDLoss', alpha_mgd=2e-5),
        inputs=dict(preds_S=dict(from_student=True, recorder='feat', connector='gen'),
                    preds_T=dict(from_student=False, recorder='feat'))))
