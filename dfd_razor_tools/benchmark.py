"""The held-out method comparison of ``tools/benchmark.py``: which runs, with which options, and the tables.

A *pair* is the recipes of one folder: a student recipe (``student_*.py``) and one recipe per method
(``<method>_*.py``, the repository's naming), shipped or the user's own. The protocol (docs/benchmark.md):

1. sweep, on the first seed: every method's loss weights at their shipped value (the recipe's) times each factor
   (0.1, 1, 10); while the best is at an end of the range, one more x10 step that way (at most ``max_extend`` per
   side); the best factor on the held-out split is the method's *picked* weight (ties: the factor closest to 1);
2. fresh seeds (every seed but the first): every method at its picked and at its shipped weight, each variant at
   its picked weight, each control (``student``: the student recipe alone; ``inherit``: the FitNet recipe at
   weight 0, where the recipes initialise the student from the teacher) over the same seeds (the controls have
   no weight to pick, so they run on the fresh seeds only);
3. tables: the headline mean +- std of every row over the fresh seeds only (the first seed chose the weights, so
   it is in no mean), and beside it the reference method's (DFD's) paired difference to every other row, seed by
   seed, with a verdict (:func:`verdict`).

Which arguments of a loss are its weights comes from the loss's declaration
(:func:`dfd_razor.models.losses.declared_weights`): a new loss needs no edit here. Each finished run is a record
(JSON: options, teacher weights' sha256, metrics, diagnostics) reused by the next invocation when its options and
teacher are identical; a failed run is recorded, reported and retried by the next invocation.
"""
import fnmatch
import glob
import hashlib
import json
import math
import os
import os.path as osp
import re
import runpy
import statistics
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from dfd_razor_tools.run import REPO

#: Where the weights of a MultiLevelDistiller recipe's loss live (configs/methods/*.py).
LOSS = 'model.distiller.levels.loss.'
CONTROLS = ('student', 'inherit')
FACTORS = (0.1, 1.0, 10.0)  # the sweep of each method's shipped weight
MAX_EXTEND = 2  # x10 steps past FACTORS, per side, while the best is at an end
SEEDS = (0, 1, 2, 3)  # the first picks the weights; the others are the fresh seeds of the headline
#: Beside the run records: the teacher's weights sha256 and metrics (the tables' teacher line under --report-only).
TEACHER_RECORD = 'teacher.json'
REFERENCE = 'dfd'
PRESETS = osp.join(REPO, 'benchmarks', 'presets')

Run = Tuple[str, float, int]  # (row, weight factor, seed); controls have factor 0


class BenchmarkError(ValueError):
    """A pair, preset or option the benchmark cannot use; the message names it and what is wrong."""


# ---- paths ------------------------------------------------------------------------------------------------------
def repo_path(path: str) -> str:
    """An absolute path as the records and options spell it: relative to the repository when inside it (so that
    records stay valid in another checkout), else absolute."""
    path = osp.abspath(path)
    rel = osp.relpath(path, REPO)
    return path if rel == '..' or rel.startswith('..' + os.sep) else rel


def absolute(path: str) -> str:
    """A path as :func:`repo_path` writes it, made absolute (relative ones are relative to the repository)."""
    return path if osp.isabs(path) else osp.join(REPO, path)


# ---- the pair -----------------------------------------------------------------------------------------------------
@dataclass
class Variant:
    """A row that runs ``method``'s recipe with fixed extra ``options`` (e.g. DFD without its transform); it is
    swept like a method and run at its picked weight only."""
    method: str
    options: List[str]


@dataclass
class Pair:
    """The recipes of one pair (paths as :func:`repo_path` writes them).

    Attributes:
        name: Names the tables (``<name>.md``) and the records folder.
        student: The student recipe (the ``student`` control).
        methods: Method -> its recipe.
        variants: Variant row -> :class:`Variant`.
        inherit: The recipe of the ``inherit`` control (the FitNet recipe, at weight 0), or None when the recipes
            do not initialise the student from the teacher (or no FitNet recipe is there).
    """
    name: str
    student: str
    methods: Dict[str, str]
    variants: Dict[str, Variant] = field(default_factory=dict)
    inherit: Optional[str] = None

    def rows(self) -> List[str]:
        """Every row: the controls, the methods, the variants."""
        return ['student'] + (['inherit'] if self.inherit else []) + list(self.methods) + list(self.variants)

    def recipe(self, row: str) -> str:
        """The recipe a row trains."""
        if row == 'student':
            return self.student
        if row == 'inherit':
            if not self.inherit:
                raise BenchmarkError(f'{self.name}: no inherit row (no FitNet recipe, or nothing inherited)')
            return self.inherit
        if row in self.variants:
            return self.methods[self.variants[row].method]
        if row not in self.methods:
            raise BenchmarkError(f'{self.name}: no recipe for {row!r} (methods: {", ".join(self.methods)})')
        return self.methods[row]


def find_pair(folder: str, pattern: str = '*', student: Optional[str] = None,
              methods: Optional[Sequence[str]] = None, name: Optional[str] = None) -> Pair:
    """The pair of the recipes in ``folder``: ``student_*.py`` and ``<method>_*.py``.

    Args:
        folder (str): The folder (absolute, or relative to the current directory).
        pattern (str): A glob the method recipes' file names must match (``*_bccd.py``), for a folder that holds
            several pairs.
        student (str, optional): The student recipe, when the folder holds several (a file name in ``folder``
            or a path).
        methods (Sequence[str], optional): Only these methods (default: every ``<method>_*.py`` that matches).
        name (str, optional): The pair's name (default: the folder's name).

    Raises:
        BenchmarkError: The folder does not exist, holds no or several student recipes, several recipes of one
            method, or none of a method asked for.
    """
    folder = osp.abspath(folder)
    if not osp.isdir(folder):
        raise BenchmarkError(f'pair folder {folder} does not exist')
    files = sorted(f for f in os.listdir(folder) if f.endswith('.py') and not f.startswith('_'))
    found: Dict[str, List[str]] = {}
    students = [f for f in files if f.startswith('student_')]
    for f in files:
        prefix = f.split('_', 1)[0]
        if prefix in ('student', 'teacher') or '_' not in f or not fnmatch.fnmatch(f, pattern):
            continue
        found.setdefault(prefix, []).append(f)
    if student is None:
        if len(students) != 1:
            raise BenchmarkError(f'{folder}: ' + ('no student_*.py recipe' if not students else
                                                 f'several student recipes ({", ".join(students)}): choose one '
                                                 'with --student'))
        student = osp.join(folder, students[0])
    elif not osp.isabs(student) and osp.isfile(osp.join(folder, student)):
        student = osp.join(folder, student)
    if not osp.isfile(student):
        raise BenchmarkError(f'student recipe {student} does not exist')
    if methods is not None:
        missing = [m for m in methods if m not in found]
        if missing:
            raise BenchmarkError(f'{folder}: no {" or ".join(f"{m}_*.py" for m in missing)} recipe matching '
                                 f'{pattern!r} (found: {", ".join(sorted(found)) or "none"})')
        found = {m: found[m] for m in methods}
    several = {m: fs for m, fs in found.items() if len(fs) > 1}
    if several:
        m, fs = next(iter(several.items()))
        raise BenchmarkError(f'{folder}: several {m} recipes ({", ".join(fs)}): choose the pair with --pair '
                             'PATTERN (a glob of the file names)')
    if not found and methods is None:  # methods == []: the controls only were asked for (the student alone)
        raise BenchmarkError(f'{folder}: no method recipe (<method>_*.py) matching {pattern!r}')
    order = list(found) if methods is not None else sorted(found)  # the order asked for, else by name
    chosen = {m: repo_path(osp.join(folder, found[m][0])) for m in order}
    return Pair(name=name or osp.basename(folder), student=repo_path(student), methods=chosen,
                inherit=inherit_recipe(chosen))


def inherit_recipe(methods: Mapping[str, str]) -> Optional[str]:
    """The ``inherit`` control's recipe: the FitNet recipe, when it initialises the student from the teacher
    (``model.inherit_from_teacher``); else None (the control would be the student alone)."""
    if 'fitnet' not in methods:
        return None
    from mmengine.config import Config
    inherited = Config.fromfile(absolute(methods['fitnet'])).model.get('inherit_from_teacher')
    return methods['fitnet'] if inherited else None


# ---- weights, from the losses' declarations ---------------------------------------------------------------------
_CONFIG_LOCK = threading.Lock()  # Config.fromfile is not thread-safe
_LOSSES: Dict[str, Dict] = {}


def recipe_loss(recipe: str) -> Dict:
    """The loss config of a method recipe (``model.distiller.levels.loss``, a MultiLevelDistiller recipe).

    Raises:
        BenchmarkError: The recipe has no such loss.
    """
    with _CONFIG_LOCK:
        if recipe not in _LOSSES:
            from mmengine.config import Config
            cfg = Config.fromfile(absolute(recipe))
            loss = cfg.get('model', {}).get('distiller', {}).get('levels', {}).get('loss')
            if not loss:
                raise BenchmarkError(f'{recipe}: no {LOSS[:-1]} (the benchmark scales the weights of a '
                                     'MultiLevelDistiller recipe\'s loss, configs/methods/*.py)')
            _LOSSES[recipe] = loss.to_dict()
        return _LOSSES[recipe]


def default_weights(recipe: str) -> Dict[str, float]:
    """The weights a method recipe ships, as its loss declares them (DFD: ``alpha`` and ``beta``)."""
    import dfd_razor  # noqa: F401  (registers the losses the declaration is looked up on)
    from dfd_razor.models.losses import weight_values
    return weight_values(recipe_loss(recipe))


def weight_options(weights: Mapping[str, float], factor: float) -> List[str]:
    """``--cfg-options`` that set every weight to ``factor`` times its value (all of a loss's weights are scaled
    together: DFD keeps the paper's alpha/beta ratio)."""
    return [f'{LOSS}{k}={v * factor:.6g}' for k, v in weights.items()]


def inherit_options(recipe: str) -> List[str]:
    """The ``inherit`` control's options: every weight of the recipe's loss at 0."""
    return [f'{LOSS}{k}=0' for k in default_weights(recipe)]


# ---- the schedule -------------------------------------------------------------------------------------------------
def schedule_options(student: str, length: int) -> List[str]:
    """``--cfg-options`` that shorten (or lengthen) the student recipe's schedule to ``length`` iterations
    (an iteration-based recipe) or epochs (an epoch-based one): the loop's length, validation and checkpoint at
    its end, every scheduler milestone scaled by ``length / shipped length`` and a scheduler ``end`` at the
    shipped length moved to ``length`` (a warm-up's is left as it is).

    Raises:
        BenchmarkError: The recipe's train_cfg has neither max_iters nor max_epochs.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(absolute(student))
    train = cfg.get('train_cfg') or {}
    key = 'max_iters' if 'max_iters' in train else 'max_epochs' if 'max_epochs' in train else None
    if key is None:
        raise BenchmarkError(f'{student}: train_cfg has neither max_iters nor max_epochs, so --schedule has '
                             'nothing to set')
    shipped = int(train[key])
    options = [f'train_cfg.{key}={length}', f'train_cfg.val_interval={length}',
               f'default_hooks.checkpoint.interval={length}']
    schedulers = cfg.get('param_scheduler') or []
    for i, sch in enumerate([schedulers] if isinstance(schedulers, dict) else schedulers):
        if sch.get('milestones'):
            scaled = ','.join(str(int(m * length / shipped)) for m in sch['milestones'])
            options.append(f'param_scheduler.{i}.milestones=[{scaled}]')
        if sch.get('end') == shipped:
            options.append(f'param_scheduler.{i}.end={length}')
    return options


# ---- the protocol's choices, as pure functions ------------------------------------------------------------------
def run_name(run: Run) -> str:
    """The run's record name: ``<row>_s<seed>`` (controls), ``<row>_x<factor>_s<seed>``."""
    row, factor, seed = run
    return f'{row}_s{seed}' if row in CONTROLS else f'{row}_x{factor:g}_s{seed}'


def parse_run_name(name: str) -> Optional[Run]:
    """The run a record name (:func:`run_name`) names, or None."""
    m = re.fullmatch(r'(\w+?)(?:_x([\d.e+-]+))?_s(\d+)', name)
    if not m or (m.group(2) is None) != (m.group(1) in CONTROLS):
        return None
    return m.group(1), float(m.group(2)) if m.group(2) else 0.0, int(m.group(3))


def pick(sweep: Mapping[float, Optional[float]]) -> Optional[float]:
    """The best factor of a sweep (factor -> metric; None for a failed run); ties: the factor closest to 1."""
    done = {f: v for f, v in sweep.items() if v is not None}
    if not done:
        return None
    best = max(done.values())
    return min((f for f, v in done.items() if v == best), key=lambda f: (abs(math.log10(f)), f))


def extension(sweep: Mapping[float, Optional[float]], factors: Sequence[float], max_extend: int) -> Optional[float]:
    """The next factor to try when the best is at an end of the swept range, or None."""
    best = pick(sweep)
    if best is None:
        return None
    low, high = min(sweep), max(sweep)
    if best == low and low > min(factors) / 10 ** max_extend * 1.0001:
        return low / 10
    if best == high and high < max(factors) * 10 ** max_extend / 1.0001:
        return high * 10
    return None


def paired_differences(reference: Mapping[int, float], other: Mapping[int, float],
                       seeds: Sequence[int]) -> Dict[int, float]:
    """Seed by seed, reference minus other, over the ``seeds`` where both have a value."""
    return {s: reference[s] - other[s] for s in seeds if s in reference and s in other}


def verdict(differences: Sequence[float], seeds: int) -> str:
    """The verdict of the reference against another row from their paired differences (reference - other, one per
    fresh seed):

    - ``'wins'``: every difference is above 0 (the reference scores higher on every fresh seed);
    - ``'loses'``: every difference is below 0;
    - ``'within the spread'``: the differences straddle 0 or one is exactly 0;
    - ``'incomplete (k of n seeds)'``: fewer than ``seeds`` differences (a run missing or failed).

    Under no true difference, with independent seeds, each sign is a coin toss: ``wins`` or ``loses`` then comes
    up with probability 2 x 0.5^n (0.25 for 3 seeds); docs/benchmark.md says how to read it.
    """
    if len(differences) < seeds:
        return f'incomplete ({len(differences)} of {seeds} seeds)'
    if min(differences) > 0:
        return 'wins'
    if max(differences) < 0:
        return 'loses'
    return 'within the spread'


def mean_std(values: Sequence[float]) -> str:
    """``mean ± std (n=k)`` (sample std), ``v (n=1)``, or 'not run yet'."""
    if not values:
        return 'not run yet'
    if len(values) == 1:
        return f'{values[0]:.2f} (n=1)'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} (n={len(values)})'


def difference_cell(differences: Mapping[int, float]) -> str:
    """``mean (min to max)`` of paired differences, signed."""
    if not differences:
        return '-'
    d = list(differences.values())
    return f'{statistics.mean(d):+.2f} ({min(d):+.2f} to {max(d):+.2f})'


def weights_sha256(checkpoint: str) -> str:
    """sha256 of a checkpoint's weights (names, shapes, dtypes, values; not its metadata, which holds
    timestamps): what the records call the teacher."""
    from dfd_razor.checkpoint import model_state, read_checkpoint
    state, _ = model_state(read_checkpoint(checkpoint, '--teacher'), checkpoint, '--teacher')
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(f'{name} {tuple(state[name].shape)} {state[name].dtype}\n'.encode())
        h.update(state[name].detach().contiguous().numpy().tobytes())
    return h.hexdigest()


#: Beside a teacher the tool trained (``<teacher work dir>/provenance.json``): how it was trained, kept with the
#: records' ``teacher.json``, because a seeded teacher recipe retrained on another CPU gives other weights.
PROVENANCE = 'provenance.json'


def cpu_model() -> str:
    """The CPU's model name and family/model/stepping (``/proc/cpuinfo``), or ``'unknown'``."""
    fields = {}
    try:
        for line in open('/proc/cpuinfo'):
            key, _, value = line.partition(':')
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        return 'unknown'
    if 'model name' not in fields:
        return 'unknown'
    return (f'{fields["model name"]} (family {fields.get("cpu family", "?")}, model {fields.get("model", "?")}, '
            f'stepping {fields.get("stepping", "?")})')


def teacher_provenance(recipe: str, checkpoint: str, env: Mapping[str, str], resumed: bool) -> Dict[str, Any]:
    """How a teacher checkpoint was trained: its recipe, weights' sha256, the training's OMP_NUM_THREADS, torch's
    version, the CPU, the date, and whether the training was resumed. Retraining with all of these equal is the one
    way this project has seen to get the same weights: the BCCD teacher on one thread gave one sha256 on an Intel
    Xeon machine (and on one whose CPU was not recorded) and another on an AMD EPYC one (benchmarks/presets/bccd.py)."""
    import datetime

    import torch
    return dict(recipe=repo_path(recipe), teacher_id=weights_sha256(checkpoint),
                omp_num_threads=env.get('OMP_NUM_THREADS', 'unset'), torch=torch.__version__, cpu=cpu_model(),
                date=datetime.date.today().isoformat(), resumed=resumed)


# ---- the benchmark ------------------------------------------------------------------------------------------------
@dataclass
class Metric:
    """The headline metric: its key in the metrics file, the factor to percent, metrics reported beside it (key ->
    factor) and a label for the tables."""
    key: str
    scale: float = 1.0
    extra: Dict[str, float] = field(default_factory=dict)
    label: str = ''

    def __post_init__(self) -> None:
        self.label = self.label or self.key


class Benchmark:
    """The protocol's bookkeeping over records; an executor (dfd_razor_tools.executors) runs the runs.

    Args:
        pair (Pair): The recipes.
        rows (Sequence[str]): The rows to run (default: every row of the pair).
        seeds (Sequence[int]): The first picks the weights; the others are the fresh seeds of the headline.
        factors (Sequence[float]): The sweep around each shipped weight.
        max_extend (int): x10 steps past ``factors``, per side, while the best is at an end.
        base_options (Sequence[str]): ``--cfg-options`` of every run, before the run's own.
        teacher (str): The teacher checkpoint, as the runs' options name it.
        teacher_id (str): Its weights' sha256 (:func:`weights_sha256`).
        work (str): The runs' work dirs go below it.
        records (str): The folder of the records, one JSON per run.
        executor: Has ``map(specs, done)``: runs each :class:`~dfd_razor_tools.executors.RunSpec` and calls
            ``done(spec, record)`` as each finishes.
        metric (Metric): The headline metric.
        env (Mapping[str, str]): Environment of every run (added to the executor's).
        processes (int): Training processes per run (> 1: tools/dist_train.sh).
        reference (str): The row whose paired differences the tables give (DFD).
        on_result (Callable, optional): Called after each finished run (the tool rewrites its tables).
        picks (Mapping[str, float], optional): Row -> factor picked elsewhere (:func:`picks_from_records`: another
            schedule's sweep): no sweep here, every weighted row runs at its pick over the fresh seeds only.
        picks_source (str): Where ``picks`` come from, for the tables.
        checkpoint_every (int): Each run saves a checkpoint this often, in its loop's unit, and an interrupted
            run goes on from its last one (0: the recipe's own checkpoints); not part of a run's options.
    """

    def __init__(self, pair: Pair, rows: Optional[Sequence[str]] = None, seeds: Sequence[int] = SEEDS,
                 factors: Sequence[float] = FACTORS, max_extend: int = MAX_EXTEND,
                 base_options: Sequence[str] = (), teacher: str = '', teacher_id: str = '', work: str = '',
                 records: str = '', executor: Any = None, metric: Optional[Metric] = None,
                 env: Optional[Mapping[str, str]] = None, processes: int = 1, reference: str = REFERENCE,
                 on_result: Optional[Callable[[], None]] = None, picks: Optional[Mapping[str, float]] = None,
                 picks_source: str = '', checkpoint_every: int = 0) -> None:
        self.pair = pair
        self.checkpoint_every = checkpoint_every
        self.rows = list(rows) if rows else pair.rows()
        unknown = [r for r in self.rows if r not in pair.rows()]
        if unknown:
            raise BenchmarkError(f'{pair.name}: no row {", ".join(unknown)} (rows: {", ".join(pair.rows())})')
        if len(seeds) < 2:
            raise BenchmarkError(f'seeds {list(seeds)}: the first picks the weights, so at least one more is needed '
                                 'for the headline')
        self.seeds, self.factors, self.max_extend = list(seeds), list(factors), max_extend
        self.base_options, self.teacher, self.teacher_id = list(base_options), teacher, teacher_id
        self.work, self.records_dir = work, records
        self.executor, self.metric = executor, metric or Metric('metric')
        self.env, self.processes, self.reference = dict(env or {}), processes, reference
        self.on_result = on_result
        self.picks, self.picks_source = (dict(picks) if picks is not None else None), picks_source
        if self.picks is not None:
            missing = [r for r in self.weighted() if r not in self.picks]
            if missing:
                raise BenchmarkError(f'{picks_source or "picks"}: no picked weight for {", ".join(missing)}')
        self.records: Dict[Run, Dict] = {}
        self.reused = 0
        self._weights: Dict[str, Dict[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def fresh(self) -> List[int]:
        """The seeds of the headline: every seed but the first."""
        return self.seeds[1:]

    # ---- options of one run ------------------------------------------------------------------------------------
    def controls(self) -> List[str]:
        return [r for r in self.rows if r in CONTROLS]

    def weighted(self) -> List[str]:
        return [r for r in self.rows if r not in CONTROLS]

    def is_variant(self, row: str) -> bool:
        return row in self.pair.variants

    def weights(self, row: str) -> Dict[str, float]:
        """The shipped weights of a row's recipe, as its loss declares them."""
        if row not in self._weights:
            self._weights[row] = default_weights(self.pair.recipe(row))
        return self._weights[row]

    def options(self, run: Run) -> List[str]:
        """The run's ``--cfg-options``: the base options, the seed, the teacher, the weights, a variant's own."""
        row, factor, seed = run
        opts = self.base_options + [f'randomness.seed={seed}']
        if row == 'student':
            return opts
        opts.append(f'model.teacher_ckpt={self.teacher}')
        if row == 'inherit':
            return opts + inherit_options(self.pair.recipe('inherit'))
        opts += weight_options(self.weights(row), factor)
        return opts + (list(self.pair.variants[row].options) if self.is_variant(row) else [])

    def recipe(self, run: Run) -> str:
        return self.pair.recipe(run[0])

    # ---- records -----------------------------------------------------------------------------------------------
    def record_path(self, run: Run) -> str:
        return osp.join(self.records_dir, run_name(run) + '.json')

    def _teacher_id(self, run: Run) -> str:
        return '' if run[0] == 'student' else self.teacher_id

    def cached(self, run: Run) -> Optional[Dict]:
        """The run's record when it finished with these very options and this teacher, else None."""
        path = self.record_path(run)
        if osp.isfile(path):
            record = json.load(open(path))
            if (record.get('options') == self.options(run) and record.get('status') == 'ok'
                    and record.get('teacher_id', '') == self._teacher_id(run)):
                return record
        return None

    def spec(self, run: Run) -> Any:
        from dfd_razor_tools.executors import RunSpec
        return RunSpec(name=run_name(run), recipe=self.recipe(run), options=self.options(run),
                       work_dir=osp.join(self.work, run_name(run)), record=self.record_path(run),
                       teacher_id=self._teacher_id(run), metric=self.metric.key, scale=self.metric.scale,
                       extra=dict(self.metric.extra), env=dict(self.env), processes=self.processes,
                       checkpoint_every=self.checkpoint_every)

    def _finished(self, run: Run, record: Dict) -> None:
        record = dict(record, options=self.options(run), teacher_id=self._teacher_id(run))
        from dfd_razor_tools.executors import write_record
        write_record(self.record_path(run), record)  # the job wrote it too; a job that died could not
        value = record.get('metric')
        print(f'{run_name(run)}: ' + (f'{value:.2f}' if record.get('status') == 'ok' else
                                      f'FAILED: {record.get("error")}'), flush=True)
        with self._lock:
            self.records[run] = record
            if self.on_result:
                self.on_result()

    def load_finished(self) -> None:
        """Read every record the current options would reuse, without running anything."""
        for path in glob.glob(osp.join(self.records_dir, '*.json')):
            run = parse_run_name(osp.basename(path)[:-5])
            if run and run[0] in self.rows:
                record = self.cached(run)
                if record is not None:
                    self.records[run] = record

    def run_all(self, runs: Iterable[Run]) -> None:
        """Reuse the runs that have a record; run the others through the executor."""
        todo = []
        for run in dict.fromkeys(runs):
            if run in self.records:
                continue
            record = self.cached(run)
            if record is not None:
                self.reused += 1
                self.records[run] = record
                print(f'{run_name(run)}: reusing {self.record_path(run)}', flush=True)
            else:
                todo.append(run)
        if not todo:
            return
        by_name = {run_name(r): r for r in todo}
        specs = [self.spec(r) for r in todo]  # here, not in the executor's threads (Config.fromfile)
        for s in specs:  # all at once: the executor starts them as its slots free
            print(f'{s.name}: queued', flush=True)
        self.executor.map(specs, lambda spec, record: self._finished(by_name[spec.name], record))

    def value(self, run: Run) -> Optional[float]:
        record = self.records.get(run)
        return record['metric'] if record and record.get('status') == 'ok' else None

    def sweep(self, row: str) -> Dict[float, Optional[float]]:
        """Factor -> metric (None: failed) of the row's runs on the first seed."""
        return {f: self.value((r, f, s)) for (r, f, s) in self.records if r == row and s == self.seeds[0]}

    def picked(self, row: str) -> Optional[float]:
        """The factor the row's sweep picked (0 for a control; the given pick with ``picks``), None before any
        sweep run finished."""
        if row in CONTROLS:
            return 0.0
        return self.picks[row] if self.picks is not None else pick(self.sweep(row))

    def sweep_complete(self, row: str) -> bool:
        """Every base factor has run and no extension is pending: the pick is final (given: final)."""
        if self.picks is not None:
            return True
        sweep = self.sweep(row)
        return all(any(math.isclose(f, g) for g in sweep) for f in self.factors) and \
            extension(sweep, self.factors, self.max_extend) is None

    # ---- the protocol --------------------------------------------------------------------------------------------
    def protocol(self) -> None:
        """Sweep on the first seed (extended while the best is at an end), then the fresh seeds; with ``picks``,
        the fresh seeds only."""
        if self.picks is not None:
            self.run_all(self.fresh_runs())
            return
        first = self.seeds[0]
        # factor by factor, shipped weights first: a benchmark cut short (it spans sessions) has compared every
        # method at its shipped weight before it tunes any. The controls have no weight to pick: fresh seeds only.
        by_default = sorted(self.factors, key=lambda f: (abs(math.log10(f)), f))
        self.run_all([(r, f, first) for f in by_default for r in self.weighted()])
        while True:
            more = [(r, e, first) for r in self.weighted()
                    if (e := extension(self.sweep(r), self.factors, self.max_extend)) is not None]
            if not more:
                break
            self.run_all(more)
        self.run_all(self.fresh_runs())

    def fresh_runs(self) -> List[Run]:
        """The runs of the headline: controls, each method at its picked and at its shipped weight, each variant at
        its picked weight, over the fresh seeds (with ``picks``: every weighted row at its pick only).

        Ordered so that a benchmark cut short (it spans sessions) leaves paired, comparable runs: the headline
        (controls and every row at its picked weight) seed by seed, every row at one seed before any at the next;
        then the methods at their shipped weights, seed by seed.
        """
        picked = {r: self.picked(r) for r in self.weighted()}
        shipped = [r for r in self.weighted() if not self.is_variant(r) and self.picks is None]
        runs = []
        for s in self.fresh:
            runs += [(r, 0.0, s) for r in self.controls()]
            runs += [(r, picked[r], s) for r in self.weighted() if picked[r] is not None]
        for s in self.fresh:
            runs += [(r, 1.0, s) for r in shipped]
        return list(dict.fromkeys(runs))

    # ---- results -------------------------------------------------------------------------------------------------
    def seed_values(self, row: str, factor: Optional[float], seeds: Optional[Sequence[int]] = None
                    ) -> Dict[int, float]:
        """Seed -> metric of the row's finished runs at ``factor`` over ``seeds`` (default: the fresh seeds)."""
        if factor is None:
            return {}
        out = {}
        for s in self.fresh if seeds is None else seeds:
            value = self.value((row, factor, s))
            if value is not None:
                out[s] = value
        return out

    def failed(self, row: str, factor: Optional[float]) -> int:
        return sum(1 for s in self.fresh if (row, factor, s) in self.records and
                   self.records[(row, factor, s)].get('status') != 'ok')

    def comparison(self, row: str, shipped: bool = False) -> Tuple[Dict[int, float], str]:
        """The reference's paired differences to ``row`` over the fresh seeds, and the verdict; both rows at their
        picked weights, or (``shipped``) at their shipped weights (controls: no weight)."""
        ref_factor = 0.0 if self.reference in CONTROLS else (1.0 if shipped else self.picked(self.reference))
        factor = 0.0 if row in CONTROLS else (1.0 if shipped else self.picked(row))
        diffs = paired_differences(self.seed_values(self.reference, ref_factor), self.seed_values(row, factor),
                                   self.fresh)
        return diffs, verdict(list(diffs.values()), len(self.fresh))


def picks_from_records(records: str, rows: Sequence[str], first_seed: int, factors: Sequence[float],
                       max_extend: int, teacher_id: str) -> Dict[str, float]:
    """Row -> the factor that another benchmark's sweep picked, from its records (``--picks-from``): the same pair
    at another schedule runs each row at the weight the shipped schedule's sweep chose, with no sweep of its own.

    The sweep is the rows' records on ``first_seed`` (any options: another schedule's), read as
    :meth:`Benchmark.picked` reads its own.

    Raises:
        BenchmarkError: ``records`` is not a folder; a row's sweep was made with another teacher, or is not finished
            (a base factor missing, or an extension pending).
    """
    if not osp.isdir(records):
        raise BenchmarkError(f'--picks-from {records}: no such folder (a benchmark\'s records: <out-dir>/runs/<name>)')
    sweeps: Dict[str, Dict[float, Optional[float]]] = {r: {} for r in rows if r not in CONTROLS}
    teachers: Dict[str, set] = {r: set() for r in sweeps}
    for path in sorted(glob.glob(osp.join(records, '*.json'))):
        run = parse_run_name(osp.basename(path)[:-5])
        if run is None or run[0] not in sweeps or run[2] != first_seed:
            continue
        record = json.load(open(path))
        teachers[run[0]].add(record.get('teacher_id', ''))
        sweeps[run[0]][run[1]] = record['metric'] if record.get('status') == 'ok' else None
    picks = {}
    for row, sweep in sweeps.items():
        others = sorted(t[:12] + '...' for t in teachers[row] if t != teacher_id)
        if others:
            raise BenchmarkError(f'--picks-from {records}: the {row} sweep was made with teacher {", ".join(others)}, '
                                 f'not this one ({teacher_id[:12]}...): picks are a teacher\'s')
        missing = [f'x{f:g}' for f in factors if not any(math.isclose(f, g) for g in sweep)]
        pending = extension(sweep, factors, max_extend)
        if missing or pending is not None or pick(sweep) is None:
            why = (f'{", ".join(missing)} not run' if missing else f'x{pending:g} pending' if pending is not None
                   else 'every run failed')
            raise BenchmarkError(f'--picks-from {records}: the {row} sweep on seed {first_seed} is not finished '
                                 f'({why})')
        picks[row] = pick(sweep)
    return picks


# ---- presets ------------------------------------------------------------------------------------------------------
#: What a preset file may set (module-level names): the default of the command-line option of that name, where there
#: is one; a preset's own: ``teacher_recipe`` and ``teacher_work_dir`` (the teacher, trained there when missing),
#: ``teacher_threads`` (its training's OMP_NUM_THREADS: the same count gives the same weights on the same CPU),
#: ``data`` (bundled datasets: ``$DFD_DATA_ROOT`` of every run), ``description`` (a paragraph for the tables).
PRESET_KEYS = ('name', 'folder', 'pair', 'student', 'methods', 'variants', 'teacher', 'teacher_recipe',
               'teacher_work_dir', 'teacher_threads', 'metric', 'scale', 'extra_metrics', 'label', 'data', 'out_dir',
               'seeds', 'factors', 'max_extend', 'reference', 'cfg_options', 'description')


def load_preset(name_or_path: str) -> Dict[str, Any]:
    """A preset: ``benchmarks/presets/<name>.py`` or a path to such a file (Python, module-level names of
    :data:`PRESET_KEYS`; repository-relative paths in it are relative to the repository).

    Raises:
        BenchmarkError: No such preset, or a name it sets that the tool does not know.
    """
    path = name_or_path if name_or_path.endswith('.py') else osp.join(PRESETS, f'{name_or_path}.py')
    if not osp.isfile(path):
        known = sorted(f[:-3] for f in os.listdir(PRESETS) if f.endswith('.py') and not f.startswith('_'))
        raise BenchmarkError(f'--preset {name_or_path}: no file {path} (presets: {", ".join(known)})')
    values = {k: v for k, v in runpy.run_path(path).items() if not k.startswith('_') and not callable(v)
              and not isinstance(v, type(os))}
    unknown = sorted(set(values) - set(PRESET_KEYS))
    if unknown:
        raise BenchmarkError(f'{path}: unknown setting(s) {unknown} (a preset sets {", ".join(PRESET_KEYS)})')
    return values
