"""The held-out comparison's protocol (docs/benchmark.md): which runs, in which order, with which options.

1. sweep, on the first seed: every method's loss weights at their shipped value (the recipe's) times each factor
   (0.1, 1, 10); while the best is at an end of the range, one more x10 step that way (at most ``max_extend`` per
   side); the best factor on the held-out split is the method's *picked* weight (ties: the factor closest to 1;
   :mod:`~dfd_razor_tools.benchmark.sweep`);
2. fresh seeds (every seed but the first): every method at its picked and at its shipped weight, each variant at
   its picked weight, each control (``student``: the student recipe alone; ``inherit``: the FitNet recipe at
   weight 0, where the recipes initialise the student from the teacher) over the same seeds (the controls have
   no weight to pick, so they run on the fresh seeds only);
3. tables (:mod:`~dfd_razor_tools.benchmark.report`): the headline mean +- std of every row over the fresh seeds
   only (the first seed chose the weights, so it is in no mean), and beside it the reference method's (DFD's)
   paired difference to every other row, seed by seed, with a verdict.

With picks from another schedule's records (``--picks-from``), every row runs at those picks over the fresh seeds
only; :func:`compare_schedules` sets the benchmarks of several schedule lengths side by side. Each finished run is a
record (:mod:`~dfd_razor_tools.benchmark.records`) reused by the next invocation when its options and teacher are
identical; a failed run is recorded, reported and retried by the next invocation.
"""
import dataclasses
import math
import os.path as osp
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from dfd_razor_tools.benchmark.errors import BenchmarkError
from dfd_razor_tools.benchmark.executors import RunSpec
from dfd_razor_tools.benchmark.pair import CONTROLS, Pair
from dfd_razor_tools.benchmark.records import Run, matching, picks_from_records, run_name, run_records, write_record
from dfd_razor_tools.benchmark.report import paired_differences, verdict, write_schedule_report
from dfd_razor_tools.benchmark.settings import Settings
from dfd_razor_tools.benchmark.sweep import extension, pick, sweep_complete
from dfd_razor_tools.benchmark.teacher import Teacher
from dfd_razor_tools.benchmark.weights import default_weights, inherit_options, weight_options
from dfd_razor_tools.paths import repo_path
from dfd_razor_tools.schedule import recipe_schedule, schedule_options


@dataclass
class RunSetup:
    """Where and how every run of a benchmark trains.

    Attributes:
        work: The runs' work dirs go below it.
        records: The folder of the records, one JSON per run.
        base_options: ``--cfg-options`` of every run, before the run's own.
        env: Environment of every run (added to the executor's).
        processes: Training processes per run (> 1: tools/dist_train.sh).
        checkpoint_every: Each run saves a checkpoint this often, in its loop's unit, and an interrupted run goes on
            from its last one (0: the recipe's own checkpoints); not part of a run's options.
    """
    work: str = ''
    records: str = ''
    base_options: List[str] = field(default_factory=list)
    env: Dict[str, str] = field(default_factory=dict)
    processes: int = 1
    checkpoint_every: int = 0


def checkpoint_interval(given: Optional[int], length: int) -> int:
    """--checkpoint-every: as given (0: the recipe's own checkpoints), else a quarter of the student's schedule
    ``length`` (rounded up), so that a run cut short loses at most a quarter of its training.

    Raises:
        BenchmarkError: A negative interval.
    """
    if given is None:
        return max(1, -(-length // 4))
    if given < 0:
        raise BenchmarkError(f'--checkpoint-every {given}: must be >= 0 (0: only the recipe\'s own checkpoints)')
    return given


class Benchmark:
    """The protocol's bookkeeping over records; an executor (:mod:`~dfd_razor_tools.benchmark.executors`) runs
    the runs.

    Args:
        pair (Pair): The recipes.
        settings (Settings): The rows (``methods``; default: every row of the pair), the seeds (the first picks
            the weights, the others are the fresh seeds of the headline), the sweep (``factors``, ``max_extend``),
            the reference row whose paired differences the tables give, and the headline metric.
        teacher (Teacher): The teacher, as the runs' options name it, and its weights' sha256.
        runs (RunSetup): Where and how every run trains.
        executor: Has ``map(specs, done)``: runs each :class:`~dfd_razor_tools.benchmark.executors.RunSpec` and
            calls ``done(spec, record)`` as each finishes.
        on_result (Callable, optional): Called after each finished run (the tool rewrites its tables).
        picks (Mapping[str, float], optional): Row -> factor picked elsewhere
            (:func:`~dfd_razor_tools.benchmark.records.picks_from_records`: another schedule's sweep): no sweep
            here, every weighted row runs at its pick over the fresh seeds only.
        picks_source (str): Where ``picks`` come from, for the tables.

    Raises:
        BenchmarkError: A row the pair does not have, fewer than two seeds, or a weighted row without a pick.
    """

    def __init__(self, pair: Pair, settings: Settings, teacher: Optional[Teacher] = None,
                 runs: Optional[RunSetup] = None, executor: Any = None, on_result: Optional[Callable[[], None]] = None,
                 picks: Optional[Mapping[str, float]] = None, picks_source: str = '') -> None:
        teacher, runs = teacher or Teacher(), runs or RunSetup()
        self.pair, self.settings, self.runs = pair, settings, runs
        self.rows = list(settings.methods) if settings.methods else pair.rows()
        unknown = [r for r in self.rows if r not in pair.rows()]
        if unknown:
            raise BenchmarkError(f'{pair.name}: no row {", ".join(unknown)} (rows: {", ".join(pair.rows())})')
        seeds = settings.seeds
        if len(seeds) < 2:
            raise BenchmarkError(f'seeds {list(seeds)}: the first picks the weights, so at least one more is needed '
                                 'for the headline')
        self.seeds, self.factors, self.max_extend = list(seeds), list(settings.factors), settings.max_extend
        self.base_options = list(runs.base_options)
        self.teacher, self.teacher_id = teacher.checkpoint, teacher.teacher_id  # as the options name it; its sha256
        self.work, self.records_dir, self.checkpoint_every = runs.work, runs.records, runs.checkpoint_every
        self.executor, self.metric = executor, settings.headline()
        self.env, self.processes, self.reference = dict(runs.env), runs.processes, settings.reference
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
        return matching(self.record_path(run), self.options(run), self._teacher_id(run))

    def spec(self, run: Run) -> RunSpec:
        """Everything the executor needs to run ``run``."""
        return RunSpec(name=run_name(run), recipe=self.recipe(run), options=self.options(run),
                       work_dir=osp.join(self.work, run_name(run)), record=self.record_path(run),
                       teacher_id=self._teacher_id(run), metric=self.metric.key, scale=self.metric.scale,
                       extra=dict(self.metric.extra), env=dict(self.env), processes=self.processes,
                       checkpoint_every=self.checkpoint_every)

    def _finished(self, run: Run, record: Dict) -> None:
        record = dict(record, options=self.options(run), teacher_id=self._teacher_id(run))
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
        for run in run_records(self.records_dir):
            if run[0] in self.rows:
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
        return sweep_complete(self.sweep(row), self.factors, self.max_extend)

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


def compare_schedules(bench: Benchmark, lengths: Sequence[int], out_dir: str, command: str,
                      own_out_dir: bool) -> str:
    """--compare-schedules: the benchmark of each length N (its records as ``--schedule N --picks-from`` the shipped
    schedule's records wrote them, read, nothing run) beside the shipped schedule's ``bench``; the report's path.

    Args:
        bench (Benchmark): The shipped schedule's benchmark, its records read.
        lengths (Sequence[int]): The other schedules' lengths.
        out_dir (str): Where the report goes (and, unless ``own_out_dir``, the records of each length).
        command (str): The command, for the report.
        own_out_dir (bool): The tables and records of each name default to its own work dir (no --out-dir, no
            preset's).

    Raises:
        BenchmarkError: A length with no record that matches its options and this teacher.
    """
    shipped, unit = recipe_schedule(bench.pair.student)
    picks = picks_from_records(bench.records_dir, bench.rows, bench.seeds[0], bench.factors, bench.max_extend,
                               bench.teacher_id)
    benches = [(shipped, bench)]
    for n in sorted(set(lengths) - {shipped}):
        pair = dataclasses.replace(bench.pair, name=f'{bench.pair.name}_{n}{unit}')
        work = osp.join(osp.dirname(bench.work), pair.name)
        runs = RunSetup(work=work, records=osp.join(work if own_out_dir else out_dir, 'runs', pair.name),
                        base_options=schedule_options(pair.student, n) + list(bench.settings.cfg_options),
                        env=bench.env, processes=bench.processes)
        other = Benchmark(pair, dataclasses.replace(bench.settings, methods=bench.rows),
                          Teacher(bench.teacher, bench.teacher_id), runs, picks=picks,
                          picks_source=repo_path(bench.records_dir))
        other.load_finished()
        if not other.records:
            raise BenchmarkError(f'--compare-schedules: no record in {other.records_dir} matches the {n}-{unit} '
                                 f'options and this teacher (run: --schedule {n} --picks-from '
                                 f'{repo_path(bench.records_dir)})')
        benches.append((n, other))
    return write_schedule_report(sorted(benches, key=lambda b: b[0]), out_dir, bench.metric.label,
                                 'iterations' if unit == 'i' else 'epochs', command)
