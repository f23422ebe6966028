"""dfd_razor.checkpoint: the strict check, unwrapping, strict loading, and the student's weights out of the checkpoint
layouts it must read (no Runner: see tests/test_tasks/test_yolov6_ema_export.py for a checkpoint an mmengine EMAHook
really wrote)."""
from collections import OrderedDict

import pytest
import torch

from dfd_razor.checkpoint import state_mismatch, student_state_dict


def test_state_mismatch_kinds():
    own = OrderedDict(a=torch.zeros(2), b=torch.zeros(3, 1), bn=torch.zeros(()))
    own['x.num_batches_tracked'] = torch.zeros((), dtype=torch.long)
    state = {'a': torch.zeros(2), 'b': torch.zeros(3, 2), 'c': torch.zeros(1)}
    m = state_mismatch(own, state)
    assert m.missing == ['bn'] and m.unexpected == ['c'] and m.shapes == ['b: checkpoint (3, 2) vs model (3, 1)']
    assert bool(m) and '1 missing' in m.summary() and '1 shape mismatches' in m.summary()
    assert not state_mismatch(own, dict(own))


def _algorithm_state(offset=0.0):
    return {'architecture.backbone.w': torch.full((2, ), 1.0 + offset), 'architecture.head.b': torch.full((1, ), 2.0),
            'teacher.backbone.w': torch.zeros(3), 'distiller.connectors.trans_fpn0.transform.0.weight': torch.ones(4)}


def test_distillation_checkpoint_without_ema_gives_the_student_alone():
    ckpt = {'state_dict': _algorithm_state(), 'meta': {}}
    for use_ema in (True, False):  # no EMA kept: the only weights there are
        out = student_state_dict(ckpt, use_ema=use_ema)
        assert list(out) == ['backbone.w', 'head.b']
        assert torch.equal(out['backbone.w'], torch.ones(2))


def test_ema_checkpoint_as_mmengine_writes_it():
    # EMAHook.before_save_checkpoint swaps: state_dict = EMA weights, ema_state_dict = 'module.' + raw weights.
    ema, raw = _algorithm_state(offset=0.5), _algorithm_state()
    swapped = {'module.' + k: v for k, v in raw.items()}
    ckpt = {'state_dict': ema, 'ema_state_dict': {'steps': torch.tensor(7), **swapped}}
    assert torch.equal(student_state_dict(ckpt)['backbone.w'], torch.full((2, ), 1.5))
    raw_out = student_state_dict(ckpt, use_ema=False)
    assert list(raw_out) == ['backbone.w', 'head.b'] and torch.equal(raw_out['backbone.w'], torch.ones(2))


def test_plain_model_checkpoints_are_returned_whole(tmp_path):
    state = {'backbone.w': torch.ones(2), 'head.b': torch.zeros(1)}
    assert list(student_state_dict({'state_dict': state})) == ['backbone.w', 'head.b']
    assert list(student_state_dict(dict(state))) == ['backbone.w', 'head.b']  # a bare state_dict
    torch.save({'state_dict': state}, tmp_path / 'plain.pth')
    assert list(student_state_dict(str(tmp_path / 'plain.pth'))) == ['backbone.w', 'head.b']


def test_errors_name_what_is_missing():
    with pytest.raises(KeyError, match='no state_dict'):
        student_state_dict({'meta': {'epoch': 1}})
    with pytest.raises(KeyError, match="'student.'"):
        student_state_dict({'state_dict': _algorithm_state()}, prefix='student.')
