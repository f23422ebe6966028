# DFD (paper section 3): Conv1-3-1(2C) transform on high-disparity positions, MSE on low-disparity positions,
# one-stage weights alpha=2.8e-5, beta=1e-5 (section 4.1).
method = dict(
    levels=dict(
        loss_name='loss_dfd',
        connectors=dict(trans=dict(type='DFDConnector', structure='conv1-3-1', expansion=2.0)),
        loss=dict(type='DFDLoss', alpha=2.8e-5, beta=1e-5),
        inputs=dict(
            s_feature=dict(from_student=True, recorder='feat'),
            s_transformed=dict(from_student=True, recorder='feat', connector='trans'),
            t_feature=dict(from_student=False, recorder='feat'))))
