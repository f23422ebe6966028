"""A recipe's training schedule: how long it trains (:func:`recipe_schedule`, the one reader of ``train_cfg``'s
length, and :func:`schedule_length`, that length alone), the ``--cfg-options`` that train it another length
(:func:`schedule_options`) and the length a run's options train (:func:`options_schedule`)."""
import argparse
from typing import List, NamedTuple, Sequence

from dfd_razor_tools.paths import absolute


class ScheduleError(ValueError):
    """A recipe whose ``train_cfg`` has no length (neither ``max_iters`` nor ``max_epochs``)."""


class Schedule(NamedTuple):
    """A training schedule's length and its unit.

    Attributes:
        length: Iterations (an iteration-based recipe) or epochs (an epoch-based one).
        unit: ``'i'`` (iterations) or ``'e'`` (epochs), as the benchmark's names spell it (``bccd_1200i``).
    """
    length: int
    unit: str

    @property
    def key(self) -> str:
        """The ``train_cfg`` key of the length: ``max_iters`` or ``max_epochs``."""
        return 'max_iters' if self.unit == 'i' else 'max_epochs'

    @property
    def words(self) -> str:
        """The unit in words: ``iterations`` or ``epochs``."""
        return 'iterations' if self.unit == 'i' else 'epochs'


def _config(recipe: str, cfg_options: Sequence[str] = ()):
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(absolute(recipe))
    if cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o'] + list(cfg_options)).o)
    return cfg


def _length(cfg, recipe: str) -> Schedule:
    train = cfg.get('train_cfg') or {}
    if 'max_iters' in train:
        return Schedule(int(train['max_iters']), 'i')
    if 'max_epochs' in train:
        return Schedule(int(train['max_epochs']), 'e')
    raise ScheduleError(f'{recipe}: train_cfg has neither max_iters nor max_epochs')


def recipe_schedule(recipe: str, cfg_options: Sequence[str] = ()) -> Schedule:
    """How long a recipe trains, after ``key=value`` overrides, as tools/train.py would train it.

    Args:
        recipe (str): The recipe (absolute, or relative to the repository).
        cfg_options (Sequence[str]): ``--cfg-options`` applied first.

    Returns:
        Schedule: ``train_cfg.max_iters`` (unit ``'i'``), else ``train_cfg.max_epochs`` (unit ``'e'``).

    Raises:
        ScheduleError: The train_cfg has neither.
    """
    return _length(_config(recipe, cfg_options), recipe)


def schedule_length(recipe: str, cfg_options: Sequence[str] = ()) -> int:
    """The length of :func:`recipe_schedule`: iterations of an iteration-based recipe (the CPU pairs'), else
    epochs."""
    return recipe_schedule(recipe, cfg_options).length


def schedule_options(student: str, length: int) -> List[str]:
    """``--cfg-options`` that shorten (or lengthen) the student recipe's schedule to ``length`` iterations
    (an iteration-based recipe) or epochs (an epoch-based one): the loop's length, validation and checkpoint at
    its end, every scheduler milestone scaled by ``length / shipped length`` and a scheduler ``end`` at the
    shipped length moved to ``length`` (a warm-up's is left as it is).

    Raises:
        ScheduleError: The recipe's train_cfg has neither max_iters nor max_epochs.
    """
    cfg = _config(student)
    try:
        shipped = _length(cfg, student)
    except ScheduleError as e:
        raise ScheduleError(f'{e}, so --schedule has nothing to set') from None
    options = [f'train_cfg.{shipped.key}={length}', f'train_cfg.val_interval={length}',
               f'default_hooks.checkpoint.interval={length}']
    schedulers = cfg.get('param_scheduler') or []
    for i, sch in enumerate([schedulers] if isinstance(schedulers, dict) else schedulers):
        if sch.get('milestones'):
            scaled = ','.join(str(int(m * length / shipped.length)) for m in sch['milestones'])
            options.append(f'param_scheduler.{i}.milestones=[{scaled}]')
        if sch.get('end') == shipped.length:
            options.append(f'param_scheduler.{i}.end={length}')
    return options


def options_schedule(options: Sequence[str], shipped: int, unit: str) -> int:
    """The student schedule's length that ``options`` (a run's --cfg-options) train: the last ``train_cfg.max_iters``
    (``unit`` 'i') or ``train_cfg.max_epochs`` ('e') they set, else the recipe's ``shipped`` length."""
    key = 'train_cfg.max_iters=' if unit == 'i' else 'train_cfg.max_epochs='
    length = shipped
    for option in options:
        if option.startswith(key):
            length = int(option[len(key):])
    return length
