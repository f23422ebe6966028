# FitNet-style baseline: plain MSE between student and teacher on every position (DFDLoss unsplit with the strict
# constraint, i.e. eq. 1 summed over channels and positions / N), weight 1e-5 = DFD's beta (the MSE weight). It is
# table 1's "HD + LD, no split" row, here as a method of its own for the CPU benchmark.
_base_ = './dfd.py'
method = dict(
    levels=dict(
        loss_name='loss_fitnet',
        connectors=dict(trans=None),
        loss=dict(split=False, hd_constraint='mse', alpha=1e-5),
        inputs=dict(s_transformed=None)))
