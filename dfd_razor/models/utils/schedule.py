"""A distillation factor as a function of training progress: the weight schedule and the transform's warm-up.

Both read the iteration from mmengine's ``MessageHub``, which the Runner's default ``RuntimeInfoHook`` updates before
every training iteration (``iter``, 0-based, the iteration about to run) and at the start of training
(``max_iters``; an epoch-based loop's too: epochs x iterations per epoch). Nothing is kept between iterations, so a
resumed run (mmengine restores ``iter``) gets, at each iteration, exactly the factor an uninterrupted one got.
Outside a training loop (the doctor, a bare forward) there is no progress and no schedule applies (factor 1).
"""
import math
from typing import Any, Dict, Mapping, Optional

from mmengine.logging import MessageHub

POLICIES = ('constant', 'linear', 'cosine')
KEYS = ('policy', 'floor', 'warmup', 'stop')


def training_progress() -> Optional[float]:
    """``iter / max_iters`` of the running training loop, in [0, 1); None outside one."""
    hub = MessageHub.get_current_instance()
    it, total = hub.get_info('iter'), hub.get_info('max_iters')
    if it is None or not total or hub.get_info('loop_stage') not in (None, 'train'):
        return None
    return min(max(int(it) / int(total), 0.0), 1.0)


def ramp(progress: float, warmup: float) -> float:
    r"""Linear warm-up: :math:`\min(1, p / w)`, 1 when ``warmup`` is 0."""
    return 1.0 if warmup <= 0 else min(1.0, progress / warmup)


def check_schedule(schedule: Mapping[str, Any], key: str) -> Dict[str, Any]:
    """The schedule with its defaults filled in, or a ``ValueError`` naming ``key`` and the wrong entry.

    Args:
        schedule: ``policy`` (``'constant'``, ``'linear'``, ``'cosine'``; default constant), ``floor`` (the factor
            the decay ends at, in [0, 1], default 0), ``warmup`` (fraction of the schedule over which the factor
            ramps up from 0, default 0), ``stop`` (fraction of the schedule from which the factor is 0, in (0, 1],
            default None: never).
        key: The config key the schedule came from, for the message (``model.distiller.weight_schedule``).
    """
    unknown = sorted(set(schedule) - set(KEYS))
    if unknown:
        raise ValueError(f'{key} has unknown keys {unknown}; known: {list(KEYS)}')
    out = dict(policy='constant', floor=0.0, warmup=0.0, stop=None)
    out.update(schedule)
    if out['policy'] not in POLICIES:
        raise ValueError(f'{key}.policy must be one of {POLICIES}, got {out["policy"]!r}')
    for name, low, high in (('floor', 0.0, 1.0), ('warmup', 0.0, 1.0)):
        value = out[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValueError(f'{key}.{name} must be a number in [{low:g}, {high:g}], got {value!r}')
    stop = out['stop']
    if stop is not None and (isinstance(stop, bool) or not isinstance(stop, (int, float)) or not 0 < stop <= 1):
        raise ValueError(f'{key}.stop must be None or a fraction of the schedule in (0, 1], got {stop!r}')
    if stop is not None and out['warmup'] >= stop:
        raise ValueError(f'{key}: warmup ({out["warmup"]}) must end before stop ({stop})')
    return out


def schedule_factor(progress: float, policy: str = 'constant', floor: float = 0.0, warmup: float = 0.0,
                    stop: Optional[float] = None) -> float:
    r"""The distillation weight's factor at training progress :math:`p \in [0, 1)`.

    .. math::
        f(p) = r(p)\, d(p)\, [p < s], \quad r(p) = \min(1, p / w), \quad
        d(p) = \begin{cases} 1 & \text{constant} \\ 1 - (1 - f_0)\, p & \text{linear} \\
        f_0 + (1 - f_0) \frac{1 + \cos \pi p}{2} & \text{cosine} \end{cases}

    with ``w`` the warm-up fraction (:math:`r = 1` when 0), :math:`f_0` the floor and ``s`` the stop fraction
    (MMYOLO's CWD recipes stop distillation at epoch 280 of 300: ``stop=280/300``).
    """
    if stop is not None and progress >= stop:
        return 0.0
    if policy == 'constant':
        decay = 1.0
    elif policy == 'linear':
        decay = 1.0 - (1.0 - floor) * progress
    elif policy == 'cosine':
        decay = floor + (1.0 - floor) * (1.0 + math.cos(math.pi * progress)) / 2.0
    else:
        raise ValueError(f'policy must be one of {POLICIES}, got {policy!r}')
    return ramp(progress, warmup) * decay
