"""The distillation factor of training progress: its closed forms, its bad input, and MessageHub's progress."""
import math

import pytest
from mmengine.logging import MessageHub

from dfd_razor.models.utils.schedule import check_schedule, schedule_factor, training_progress


@pytest.mark.parametrize('p,kwargs,expected', [
    (0.0, dict(), 1.0),
    (0.7, dict(), 1.0),
    (0.5, dict(policy='linear', floor=0.2), 0.6),           # 1 - 0.8 * 0.5
    (0.0, dict(policy='linear', floor=0.2), 1.0),
    (0.5, dict(policy='cosine'), 0.5),                       # (1 + cos(pi/2)) / 2
    (0.25, dict(policy='cosine', floor=0.0), (1 + math.sqrt(0.5)) / 2),
    (0.25, dict(policy='cosine', floor=0.1), 0.1 + 0.9 * (1 + math.sqrt(0.5)) / 2),
    (0.05, dict(warmup=0.1), 0.5),                           # half-way through a 10% warm-up
    (0.05, dict(policy='linear', warmup=0.1), 0.5 * 0.95),
    (0.1, dict(warmup=0.1), 1.0),
    (0.9, dict(stop=0.9), 0.0),                              # MMYOLO's stop: distillation off from there
    (0.89, dict(stop=0.9), 1.0),
    (280 / 300, dict(stop=280 / 300), 0.0),
])
def test_factor_closed_forms(p, kwargs, expected):
    assert schedule_factor(p, **check_schedule(kwargs, 'k')) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize('schedule,message', [
    (dict(policy='exp'), "k.policy must be one of ('constant', 'linear', 'cosine'), got 'exp'"),
    (dict(floor=1.5), 'k.floor must be a number in [0, 1], got 1.5'),
    (dict(floor='0.1'), "k.floor must be a number in [0, 1], got '0.1'"),
    (dict(warmup=-0.1), 'k.warmup must be a number in [0, 1], got -0.1'),
    (dict(stop=0), 'k.stop must be None or a fraction of the schedule in (0, 1], got 0'),
    (dict(warmup=0.5, stop=0.4), 'k: warmup (0.5) must end before stop (0.4)'),
    (dict(decay='cosine'), "k has unknown keys ['decay']; known: ['policy', 'floor', 'warmup', 'stop']"),
])
def test_bad_schedule_names_the_key(schedule, message):
    with pytest.raises(ValueError) as e:
        check_schedule(schedule, 'k')
    assert str(e.value) == message


def test_progress_reads_the_runners_iteration():
    hub = MessageHub.get_instance('test_schedule_progress')
    hub.update_info('max_iters', 40)
    hub.update_info('iter', 10)
    hub.update_info('loop_stage', 'train')
    assert training_progress() == 0.25
    hub.update_info('loop_stage', 'val')
    assert training_progress() is None  # no schedule while validating
    empty = MessageHub.get_instance('test_schedule_no_runner')
    assert empty.get_info('iter') is None and training_progress() is None
