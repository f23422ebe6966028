from collections import OrderedDict

import torch

from dfd_razor.checkpoint import state_mismatch


def test_state_mismatch_kinds():
    own = OrderedDict(a=torch.zeros(2), b=torch.zeros(3, 1), bn=torch.zeros(()))
    own['x.num_batches_tracked'] = torch.zeros((), dtype=torch.long)
    state = {'a': torch.zeros(2), 'b': torch.zeros(3, 2), 'c': torch.zeros(1)}
    m = state_mismatch(own, state)
    assert m.missing == ['bn'] and m.unexpected == ['c'] and m.shapes == ['b: checkpoint (3, 2) vs model (3, 1)']
    assert bool(m) and '1 missing' in m.summary() and '1 shape mismatches' in m.summary()
    assert not state_mismatch(own, dict(own))
