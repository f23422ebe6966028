"""Held-out comparison of DFD with the student alone, FitNet, PKD, MGD and CWD, each at its own tuned weight.

    OMP_NUM_THREADS=1 python benchmarks/distill_benchmark.py --task bccd [--jobs 2] [--iters N] [--data-root DIR]

Protocol (the same chance for every method), for the task's CPU pair (recipes/cpu_demo):

1. the teacher is trained once (or reused from work_dirs/demo/<task>/teacher when it finished its schedule there;
   one that stopped earlier is resumed) and evaluated;
2. sweep, seed 0: every method's loss weight at its default (the weight its recipe ships, tuned by its paper for
   COCO/Cityscapes models) times each ``--factors`` (0.1, 1, 10); where the best is at an end of the range, the
   range grows by another factor 10 that way, up to ``--max-extend`` times; the best factor on val by the headline
   metric is the method's *picked* weight (ties: the factor closest to 1);
3. seeds: every method at its picked and at its default weight over ``--seeds`` (seed 0 is the sweep's run);
   the student alone and the ``inherit`` control over the same seeds.

Every run trains the same student from the same initialisation seed, data and schedule and is scored on the
held-out split. Runs go ``--jobs`` at a time (one thread each). Each run's options, metrics, log, peak memory and
diagnostics are kept: the record (options, teacher sha256, metrics, diagnostics) in benchmarks/runs/<task>/<run>.json,
committed with the tables; the log and checkpoint under work_dirs/benchmark/<task>/<run>/. A finished run with
identical options and teacher is reused, so re-running resumes an interrupted benchmark (across sessions and
machines: the teachers are seeded, and a retrained teacher with other weights reruns every distilled run), and a
changed option (schedule, weight) reruns only what it changes. A failed run is recorded and reported, and retried
by the next invocation.
The tables (benchmarks/<task>.md, <task>_diagnostics.md, <task>.png) are rewritten after every finished run.
"""
import argparse
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from dfd_razor.demo_tasks import TASKS, read_metric, recipe, schedule_length, teacher_state  # noqa: E402

LOSS = 'model.distiller.levels.loss.'
# method -> (recipe method, the loss arguments its weight factor multiplies, fixed options of the variant).
# DFD's alpha (HD) and beta (LD) are scaled together: the sweep keeps the paper's ratio and tunes the scale.
METHODS: Dict[str, Tuple[str, Sequence[str], Sequence[str]]] = {
    'fitnet': ('fitnet', ['alpha'], []),
    'pkd': ('pkd', ['loss_weight'], []),
    'mgd': ('mgd', ['alpha_mgd'], []),
    'cwd': ('cwd', ['loss_weight'], []),
    'dfd': ('dfd', ['alpha', 'beta'], []),
    'dfd_split': ('dfd', ['alpha', 'beta'], ['model.distiller.levels.connectors.trans=None',
                                             'model.distiller.levels.inputs.s_transformed=None',
                                             LOSS + 'hd_constraint=mse']),
    'dfd_batch': ('dfd', ['alpha', 'beta'], [LOSS + 'threshold_scope=batch']),
    'dfd_norm': ('dfd', ['alpha', 'beta'], [LOSS + 'normalize=True']),
}
VARIANTS = ('dfd_split', 'dfd_batch', 'dfd_norm')  # tested at their picked weight only
FACTORS = (0.1, 1.0, 10.0)  # the protocol's sweep of each method's default weight (--factors)
MAX_EXTEND = 2  # x10 steps past FACTORS, per side, while the best is at an end (--max-extend)
LEGEND = {
    'student': 'the student recipe alone, from scratch',
    'inherit': "the distillation recipes' initialisation (inheriting strategy: the teacher's neck and head), no "
               'feature loss (the FitNet recipe at weight 0)',
    'fitnet': 'MSE on all positions (configs/methods/fitnet.py), weight: alpha',
    'pkd': 'PKD (MMRazor PKDLoss), weight: loss_weight',
    'mgd': 'MGD (MMRazor MGDConnector + MGDLoss), weight: alpha_mgd',
    'cwd': 'CWD (MMRazor ChannelWiseDivergence), weight: loss_weight',
    'dfd': 'DFD (paper), weights alpha (HD) and beta (LD) scaled together',
    'dfd_split': 'DFD without the transform: strict MSE on HD and LD (table 1 "split")',
    'dfd_batch': 'DFD with one threshold P over the whole batch (threshold_scope=batch)',
    'dfd_norm': 'scale-free DFD (ours, not the paper\'s): features normalised per channel before eqs. 2-7 '
                '(DFDLoss normalize=True)',
}
# Per task: which control rows apply and how --iters scales the learning-rate schedule.
BENCH = {
    'bccd': dict(controls=['student', 'inherit'],
                 short=lambda n: [f'param_scheduler.1.milestones=[{int(n * 0.75)},{int(n * 0.92)}]']),
    'camvid': dict(controls=['student'], short=lambda n: [f'param_scheduler.0.end={n}']),
}

Run = Tuple[str, float, int]  # (method, weight factor, seed); controls have factor 0


def run_name(run: Run) -> str:
    method, factor, seed = run
    return f'{method}_s{seed}' if method in ('student', 'inherit') else f'{method}_x{factor:g}_s{seed}'


def default_weights(recipe_path: str, keys: Sequence[str]) -> Dict[str, float]:
    """The loss arguments ``keys`` as the method's recipe sets them (its paper's weights)."""
    from mmengine.config import Config
    loss = Config.fromfile(osp.join(REPO, recipe_path)).model.distiller.levels.loss
    return {k: float(loss[k]) for k in keys}


def pick(sweep: Dict[float, Optional[float]]) -> Optional[float]:
    """The best factor of a finished sweep (factor -> metric; None for a failed run); ties: closest to 1."""
    done = {f: v for f, v in sweep.items() if v is not None}
    if not done:
        return None
    best = max(done.values())
    return min((f for f, v in done.items() if v == best), key=lambda f: (abs(math.log10(f)), f))


def extension(sweep: Dict[float, Optional[float]], factors: Sequence[float], max_extend: int) -> Optional[float]:
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


class Benchmark:
    """The protocol's bookkeeping; ``execute(run, options)`` trains and tests one run and returns its record."""

    def __init__(self, task: str, methods: Sequence[str], seeds: Sequence[int], factors: Sequence[float],
                 max_extend: int, base_options: Sequence[str], teacher: str, work: str,
                 execute: Callable[[Run, List[str]], Dict], jobs: int = 1,
                 on_result: Optional[Callable[[], None]] = None, teacher_id: str = '',
                 records: Optional[str] = None) -> None:
        self.task, self.methods, self.seeds, self.factors = task, list(methods), list(seeds), list(factors)
        self.max_extend, self.base_options, self.teacher, self.work = max_extend, list(base_options), teacher, work
        self.execute, self.jobs, self.on_result = execute, jobs, on_result
        self.teacher_id = teacher_id  # the teacher's weights (sha256): a retrained teacher is another teacher
        self.records_dir = records or work  # one JSON per run: options, teacher, metrics, diagnostics
        self.records: Dict[Run, Dict] = {}
        self.reused = 0
        self._weights: Dict[str, Dict[str, float]] = {}
        self._lock = threading.Lock()

    # ---- options of one run ------------------------------------------------------------------------------
    def weights(self, method: str) -> Dict[str, float]:
        if method not in self._weights:
            base, keys, _ = METHODS[method]
            self._weights[method] = default_weights(recipe(TASKS[self.task], base), keys)
        return self._weights[method]

    def options(self, run: Run) -> List[str]:
        method, factor, seed = run
        opts = self.base_options + [f'randomness.seed={seed}']
        if method == 'student':
            return opts
        opts.append(f'model.teacher_ckpt={self.teacher}')
        if method == 'inherit':
            return opts + [LOSS + 'alpha=0']
        opts += [f'{LOSS}{k}={v * factor:.6g}' for k, v in self.weights(method).items()]
        return opts + list(METHODS[method][2])

    def recipe(self, run: Run) -> str:
        method = run[0]
        if method == 'student':
            return recipe(TASKS[self.task], 'student')
        return recipe(TASKS[self.task], 'fitnet' if method == 'inherit' else METHODS[method][0])

    # ---- running -------------------------------------------------------------------------------------------
    def _record_path(self, run: Run) -> str:
        return osp.join(self.records_dir, run_name(run) + '.json')

    def _teacher_id(self, run: Run) -> str:
        return '' if run[0] == 'student' else self.teacher_id

    def cached(self, run: Run) -> Optional[Dict]:
        path = self._record_path(run)
        if osp.isfile(path):
            record = json.load(open(path))
            if (record.get('options') == self.options(run) and record.get('status') == 'ok'
                    and record.get('teacher_id', '') == self._teacher_id(run)):
                return record
        return None

    def _one(self, run: Run) -> Dict:
        record = self.cached(run)
        if record is not None:
            with self._lock:
                self.reused += 1
            print(f'{run_name(run)}: reusing {self._record_path(run)}', flush=True)
        else:
            print(f'{run_name(run)}: training', flush=True)
            record = self.execute(run, self.options(run))
            record['options'] = self.options(run)
            record['teacher_id'] = self._teacher_id(run)
            os.makedirs(osp.dirname(self._record_path(run)), exist_ok=True)
            with open(self._record_path(run), 'w') as f:
                json.dump(record, f, indent=1)
            value = record.get('metric')
            print(f'{run_name(run)}: ' + (f'{value:.2f}' if record['status'] == 'ok' else
                                          f'FAILED, see {record.get("log")}'), flush=True)
        with self._lock:
            self.records[run] = record
            if self.on_result:
                self.on_result()
        return record

    def load_finished(self) -> None:
        """Every recorded run that the current options would reuse, without running anything."""
        import glob
        import re
        for path in glob.glob(osp.join(self.records_dir, '*.json')):
            m = re.fullmatch(r'(\w+?)(?:_x([\d.e+-]+))?_s(\d+)', osp.basename(path)[:-5])
            if m and m.group(1) in self.methods:
                run = (m.group(1), float(m.group(2)) if m.group(2) else 0, int(m.group(3)))
                record = self.cached(run)
                if record is not None:
                    self.records[run] = record

    def run_all(self, runs: Iterable[Run]) -> None:
        runs = [r for r in dict.fromkeys(runs) if r not in self.records]
        for r in runs:  # read the recipes' default weights here, once: Config.fromfile is not thread-safe
            self.options(r)
        if self.jobs == 1:
            for r in runs:
                self._one(r)
            return
        with ThreadPoolExecutor(self.jobs) as pool:
            list(pool.map(self._one, runs))

    def value(self, run: Run) -> Optional[float]:
        record = self.records.get(run)
        return record['metric'] if record and record['status'] == 'ok' else None

    def sweep(self, method: str) -> Dict[float, Optional[float]]:
        return {f: self.value((m, f, s)) for (m, f, s) in self.records if m == method and s == self.seeds[0]}

    def picked(self, method: str) -> Optional[float]:
        return pick(self.sweep(method))

    def sweep_complete(self, method: str) -> bool:
        """Every base factor has run and no extension is pending: the pick is final."""
        sweep = self.sweep(method)
        return all(any(math.isclose(f, g) for g in sweep) for f in self.factors) and \
            extension(sweep, self.factors, self.max_extend) is None

    # ---- the protocol --------------------------------------------------------------------------------------
    def controls(self) -> List[str]:
        return [m for m in self.methods if m in ('student', 'inherit')]

    def weighted(self) -> List[str]:
        return [m for m in self.methods if m in METHODS]

    def protocol(self) -> None:
        first = self.seeds[0]
        # sweep on the first seed (controls' first seed too), factor by factor, defaults first: a benchmark cut
        # short (it spans sessions) has compared every method at its default weight before it tunes any
        by_default = sorted(self.factors, key=lambda f: (abs(math.log10(f)), f))
        self.run_all([(m, 0, first) for m in self.controls()] +
                     [(m, f, first) for f in by_default for m in self.weighted()])
        while True:  # extend where the best is at an end
            more = [(m, e, first) for m in self.weighted()
                    if (e := extension(self.sweep(m), self.factors, self.max_extend)) is not None]
            if not more:
                break
            self.run_all(more)
        seeded = [(m, 0, s) for m in self.controls() for s in self.seeds[1:]]
        for m in self.weighted():
            best = self.picked(m)
            chosen = [best] if m in VARIANTS else [best, 1.0]
            seeded += [(m, f, s) for f in dict.fromkeys(chosen) if f is not None for s in self.seeds[1:]]
        self.run_all(seeded)

    # ---- results ---------------------------------------------------------------------------------------------
    def seed_values(self, method: str, factor: float) -> Tuple[List[float], int]:
        """Metric values over the seeds at one factor, and how many of those runs failed."""
        values, failed = [], 0
        for s in self.seeds:
            record = self.records.get((method, factor, s))
            if record is None:
                continue
            if record['status'] == 'ok':
                values.append(record['metric'])
            else:
                failed += 1
        return values, failed


def mean_std(values: Sequence[float]) -> str:
    if not values:
        return 'not run yet'
    std = statistics.stdev(values) if len(values) > 1 else float('nan')
    return f'{statistics.mean(values):.2f} ± {std:.2f} (n={len(values)})' if len(values) > 1 else \
        f'{values[0]:.2f} (n=1)'


def cell(bench: Benchmark, method: str, factor: Optional[float]) -> str:
    if factor is None:
        return 'not run yet'
    values, failed = bench.seed_values(method, factor)
    return mean_std(values) + (f', {failed} failed' if failed else '')


# ---- execution of one run ------------------------------------------------------------------------------------
def diagnostics(work_dir: str) -> Dict:
    """Distill terms (weighted, as logged), the distill/task loss ratio and DFD's HD fractions at the first,
    middle and last logged training iterations, from the run's scalars.json."""
    import glob
    rows = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        rows += [r for r in map(json.loads, open(path)) if 'loss' in r and 'iter' in r]
    if not rows:
        return {}
    rows.sort(key=lambda r: r['iter'])
    picks = {'first': rows[0], 'middle': rows[len(rows) // 2], 'last': rows[-1]}
    out = {}
    for where, r in picks.items():
        distill = {k[len('distill.'):]: v for k, v in r.items() if k.startswith('distill.loss')}
        task = {k: v for k, v in r.items() if 'loss' in k and k != 'loss' and not k.startswith('distill.')}
        out[where] = dict(iter=r['iter'], distill=distill, task=task,
                          hd_fraction={k[len('distill.'):]: v for k, v in r.items()
                                       if k.startswith('distill.stat') and k.endswith('hd_fraction')},
                          ratio=sum(distill.values()) / sum(task.values()) if task and sum(task.values()) else None)
    out['seconds_per_iter'] = statistics.median([r['time'] for r in rows[1:] if 'time' in r] or
                                                [r['time'] for r in rows if 'time' in r] or [float('nan')])
    return out


def weights_sha256(checkpoint: str) -> str:
    """sha256 of a checkpoint's weights (names, shapes, values; not its metadata, which holds timestamps)."""
    import hashlib

    import torch
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)
    state = state.get('state_dict', state)
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(f'{name} {tuple(state[name].shape)} {state[name].dtype}\n'.encode())
        h.update(state[name].detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def make_executor(task: str, env: Dict[str, str], work: str, recipe_of: Callable[[Run], str]):
    spec = TASKS[task]

    def execute(run: Run, options: List[str]) -> Dict:
        run_dir = osp.join(work, run_name(run))
        os.makedirs(run_dir, exist_ok=True)
        log = osp.join(run_dir, 'run.log')
        rec = recipe_of(run)
        start = time.time()
        trained = osp.join(run_dir, 'trained_with.json')  # a finished training whose evaluation did not finish
        if osp.isfile(trained) and json.load(open(trained)) == dict(recipe=rec, options=options):
            record = json.load(open(trained + '.record'))
        else:
            with open(log, 'w') as f:
                f.write(f'# tools/train.py {rec} --work-dir {run_dir} --cfg-options {" ".join(options)}\n')
                f.flush()
                proc = subprocess.Popen([sys.executable, 'tools/train.py', rec, '--work-dir', run_dir,
                                         '--cfg-options'] + options, cwd=REPO, env=env, stdout=f,
                                        stderr=subprocess.STDOUT)
                _, status, usage = os.wait4(proc.pid, 0)
            code = os.waitstatus_to_exitcode(status)
            record = dict(recipe=rec, log=osp.relpath(log, REPO), peak_rss_mib=usage.ru_maxrss / 1024,
                          train_seconds=time.time() - start)
            if code != 0:
                return dict(record, status='failed', error=f'tools/train.py exited {code}')
            json.dump(record, open(trained + '.record', 'w'))
            json.dump(dict(recipe=rec, options=options), open(trained, 'w'))
        ckpt = open(osp.join(run_dir, 'last_checkpoint')).read().strip()
        test_start = time.time()
        metrics_path = osp.join(run_dir, 'test_metrics.json')
        with open(log, 'a') as f:
            # the run's options build the same model (a variant may drop a connector) and name the same teacher
            code = subprocess.call([sys.executable, 'tools/test.py', rec, ckpt, '--work-dir', run_dir,
                                    '--out-metrics', metrics_path, '--cfg-options'] + options, cwd=REPO, env=env,
                                   stdout=f, stderr=subprocess.STDOUT)
        if code != 0:
            return dict(record, status='failed', error=f'tools/test.py exited {code}')
        metrics = json.load(open(metrics_path))['metrics']
        return dict(record, status='ok', metric=read_metric(metrics_path, spec['metric'], spec['scale']),
                    extra={k: metrics.get(k, 0.0) * s for k, s in spec.get('extra', {}).items()},
                    seconds=record['train_seconds'] + time.time() - test_start, diagnostics=diagnostics(run_dir))

    return execute


# ---- report ---------------------------------------------------------------------------------------------------
def write_report(bench: Benchmark, teacher: Dict, command: str, out_dir: str, jobs: int,
                 elapsed: Optional[float]) -> None:
    """The task's tables and PNG; ``elapsed`` is None for tables rewritten from records (--report-only)."""
    spec = TASKS[bench.task]
    label = spec['label']
    first = bench.seeds[0]
    lines = [f'# Held-out CPU benchmark: {bench.task}', '',
             f'Pair: `recipes/cpu_demo/*_{spec["pair"]}.py`. Metric: {label}, on images no model trained on. '
             f'Seeds {bench.seeds}; sweep factors {bench.factors} of each method\'s default weight on seed {first} '
             f'(extended by x10 up to {bench.max_extend} times where the best is at an end).', '',
             f'Teacher ({spec["teacher"]}): {teacher["metric"]:.2f}' +
             ''.join(f', {k} {v:.2f}' for k, v in teacher.get('extra', {}).items()) + '.', '',
             '## Headline', '',
             f'| method | picked factor | picked weight(s) | {label}, at the picked weight | at the default weight |',
             '| --- | --- | --- | --- | --- |']
    for m in bench.controls():
        lines.append(f'| {m} | - | - | {cell(bench, m, 0)} | same |')
    for m in bench.weighted():
        best = bench.picked(m)
        w = ', '.join(f'{k}={v * best:.3g}' for k, v in bench.weights(m).items()) if best is not None else '-'
        default = 'not run (variant)' if m in VARIANTS else cell(bench, m, 1.0)
        shown = '-' if best is None else f'{best:g}' + ('' if bench.sweep_complete(m) else ' (sweep not finished)')
        lines.append(f'| {m} | {shown} | {w} | {cell(bench, m, best)} | {default} |')
    alone = bench.seed_values('student', 0)[0] if 'student' in bench.methods else []
    if alone:
        lines += ['', f'Teacher minus student alone: {teacher["metric"] - statistics.mean(alone):.2f} points '
                  f'(student alone over {len(alone)} seed(s)).']
    lines += ['', f'## Sweep (seed {first})', '', '| method | factor: metric |', '| --- | --- |']
    for m in bench.weighted():
        sweep = bench.sweep(m)
        lines.append(f'| {m} | ' + ', '.join(f'x{f:g}: ' + (f'{v:.2f}' if v is not None else 'failed')
                                            for f, v in sorted(sweep.items())) + ' |')
    lines += ['', '## Runs', '',
              f'| run | {spec["metric"]} | ' + ' | '.join(spec.get('extra', {})) +
              ' | s / iter | peak RSS (MiB) | wall (s) |', '| --- ' * (5 + len(spec.get('extra', {}))) + '|']
    for run in sorted(bench.records, key=lambda r: (r[0], r[1], r[2])):
        r = bench.records[run]
        if r['status'] != 'ok':
            lines.append(f'| {run_name(run)} | FAILED: {r.get("error")} ({r.get("log")}) |')
            continue
        d = r.get('diagnostics', {})
        lines.append(f'| {run_name(run)} | {r["metric"]:.2f} | ' +
                     ' | '.join(f'{r["extra"].get(k, 0):.2f}' for k in spec.get('extra', {})) +
                     f' | {d.get("seconds_per_iter", float("nan")):.3f} | {r["peak_rss_mib"]:.0f} | '
                     f'{r["seconds"]:.0f} |')
    lines += ['', '## Legend', ''] + [f'- {m}: {LEGEND[m]}' for m in bench.methods]
    lines += ['', f'Command: `{command}`, {jobs} job(s) at a time, OMP_NUM_THREADS='
              f'{os.environ.get("OMP_NUM_THREADS", "unset")}, {os.cpu_count()} CPU cores; ' +
              (f'{elapsed:.0f} s in this invocation, {bench.reused} runs reused from earlier ones.' if elapsed is not None
               else f'these tables were rewritten from the {len(bench.records)} records (--report-only).') +
              (' The s / iter column comes from runs that shared the cores with another run: it is not a cost '
               'comparison (benchmarks/step_cost.py is).' if jobs > 1 else ''),
              f'Diagnostics of every run (distill terms, distill/task ratio, HD fractions): '
              f'[{bench.task}_diagnostics.md]({bench.task}_diagnostics.md).', '']
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, f'{bench.task}.md'), 'w') as f:
        f.write('\n'.join(lines))
    write_diagnostics(bench, osp.join(out_dir, f'{bench.task}_diagnostics.md'))
    plot(bench, osp.join(out_dir, f'{bench.task}.png'), teacher)


def term_weight(bench: Benchmark, run: Run, term: str) -> Optional[float]:
    """The weight a logged distill term was multiplied by (to report it unweighted)."""
    method, factor, _ = run
    if method not in METHODS:
        return None
    w = {k: v * factor for k, v in bench.weights(method).items()}
    if 'alpha' in w and 'beta' in w:
        return w['beta'] if term.endswith('_ld') else w['alpha']
    return next(iter(w.values()))


def write_diagnostics(bench: Benchmark, path: str) -> None:
    lines = [f'# {bench.task}: diagnostics of every run', '',
             'Per distill term at the first, middle and last logged training iteration: the weighted value as '
             'logged and the unweighted value (weighted / weight); the whole distill loss over the task loss; for '
             'DFD the fraction of positions in the HD region per level.', '']
    for run in sorted(bench.records, key=lambda r: (r[0], r[1], r[2])):
        r = bench.records[run]
        d = r.get('diagnostics') or {}
        if r['status'] != 'ok' or 'first' not in d:
            continue
        iters = [d[w]['iter'] for w in ('first', 'middle', 'last')]
        ratios = ' / '.join('-' if d[w]['ratio'] is None else f'{d[w]["ratio"]:.3g}'
                            for w in ('first', 'middle', 'last'))
        lines += [f'## {run_name(run)}', '', f'iterations {iters}; distill/task loss: {ratios}', '']
        terms = sorted(d['first']['distill'])
        if terms:
            lines += ['| term | weighted (first / middle / last) | unweighted |', '| --- | --- | --- |']
            for t in terms:
                weight = term_weight(bench, run, t)
                vals = [d[w]['distill'].get(t) for w in ('first', 'middle', 'last')]
                wtd = ' / '.join('-' if v is None else f'{v:.4g}' for v in vals)
                unw = ' / '.join('-' if v is None or not weight else f'{v / weight:.4g}' for v in vals)
                lines.append(f'| {t} | {wtd} | {unw} |')
            lines.append('')
        fracs = sorted(d['first']['hd_fraction'])
        if fracs:
            lines.append('HD fraction: ' + '; '.join(
                f'{t.replace("stat_", "").replace("_hd_fraction", "")} ' +
                ' / '.join(f'{d[w]["hd_fraction"].get(t, float("nan")):.3f}' for w in ('first', 'middle', 'last'))
                for t in fracs))
            lines.append('')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def plot(bench: Benchmark, path: str, teacher: Dict) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names, picked, default = [], [], []
    for m in bench.controls() + bench.weighted():
        names.append(m)
        best = 0 if m in ('student', 'inherit') else bench.picked(m)
        picked.append(bench.seed_values(m, best)[0] if best is not None else [])
        default.append(bench.seed_values(m, 0 if m in ('student', 'inherit') else 1.0)[0]
                       if m not in VARIANTS else [])
    fig, ax = plt.subplots(figsize=(1.0 * len(names) + 2, 4))
    x = list(range(len(names)))

    def stats(vals):
        return ([statistics.mean(v) if v else float('nan') for v in vals],
                [statistics.stdev(v) if len(v) > 1 else 0.0 for v in vals])

    for offset, vals, lab in ((-0.18, picked, 'picked weight'), (0.18, default, 'default weight')):
        mean, std = stats(vals)
        ax.bar([i + offset for i in x], mean, 0.36, yerr=std, capsize=3, label=lab)
    ax.axhline(teacher['metric'], color='k', ls='--', lw=1, label='teacher')
    ax.set_xticks(x, names, rotation=30, ha='right')
    ax.set_ylabel(TASKS[bench.task]['label'])
    ax.set_title(f'{bench.task}: mean ± std over the seeds run so far (of {bench.seeds}; n per bar in '
                 f'{bench.task}.md)', fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def require_records(bench: Benchmark) -> None:
    """--report-only over no reusable record would write empty tables over the real ones: stop and say where."""
    if not bench.records:
        raise SystemExit(f'--report-only: no record in {bench.records_dir} matches these options and this '
                         f'teacher (the records are read from <out-dir>/runs/{bench.task})')


def main() -> None:
    from dfd_razor.data import resolve_data_root
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=sorted(BENCH), required=True)
    parser.add_argument('--methods', nargs='+', choices=['student', 'inherit'] + list(METHODS),
                        help='default: every row that applies to the task')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--factors', type=float, nargs='+', default=list(FACTORS))
    parser.add_argument('--max-extend', type=int, default=MAX_EXTEND, help='x10 steps past the range, per side')
    parser.add_argument('--iters', type=int, help='student training iterations (default: the recipe\'s schedule)')
    parser.add_argument('--jobs', type=int, default=2, help='runs at a time (each should get OMP_NUM_THREADS=1)')
    parser.add_argument('--teacher', help='teacher checkpoint to use (default: the demo\'s cached teacher, trained '
                        'first when missing)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='more overrides for every student run')
    parser.add_argument('--data-root')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'benchmark'))
    parser.add_argument('--out-dir', default=osp.join(REPO, 'benchmarks'), help='where the tables go')
    parser.add_argument('--report-only', action='store_true',
                        help='rewrite the tables from the finished runs\' records, run nothing')
    args = parser.parse_args()
    spec, bench_spec = TASKS[args.task], BENCH[args.task]
    methods = args.methods or bench_spec['controls'] + list(METHODS)
    env = dict(os.environ, DFD_DATA_ROOT=resolve_data_root(spec['data'], args.data_root))
    env.setdefault('OMP_NUM_THREADS', '1')
    work = osp.join(REPO, args.work_dir, args.task)
    os.makedirs(work, exist_ok=True)
    start = time.time()

    teacher_dir = osp.join(REPO, 'work_dirs', 'demo', args.task, 'teacher')
    state = teacher_state(teacher_dir, schedule_length(recipe(spec, 'teacher')))
    if not args.teacher and not state['finished']:  # a teacher that stopped early is resumed, never used
        print(f'training the teacher ({recipe(spec, "teacher")})' +
              (f', resuming {state["partial"]}' if state['partial'] else ''), flush=True)
        with open(osp.join(work, 'teacher.log'), 'a') as f:
            subprocess.run([sys.executable, 'tools/train.py', recipe(spec, 'teacher'), '--work-dir', teacher_dir] +
                           (['--resume'] if state['partial'] else []), cwd=REPO, env=env, stdout=f,
                           stderr=subprocess.STDOUT, check=True)
        state = teacher_state(teacher_dir, schedule_length(recipe(spec, 'teacher')))
    teacher_ckpt = osp.abspath(args.teacher) if args.teacher else state['finished']
    teacher_metrics = osp.join(work, 'teacher_metrics.json')
    if not osp.isfile(teacher_metrics) or json.load(open(teacher_metrics)).get('checkpoint') != teacher_ckpt:
        with open(osp.join(work, 'teacher_test.log'), 'w') as f:
            subprocess.run([sys.executable, 'tools/test.py', recipe(spec, 'teacher'), teacher_ckpt, '--work-dir',
                            work, '--out-metrics', teacher_metrics + '.raw'], cwd=REPO, env=env, stdout=f,
                           stderr=subprocess.STDOUT, check=True)
        raw = json.load(open(teacher_metrics + '.raw'))['metrics']
        with open(teacher_metrics, 'w') as f:
            json.dump(dict(checkpoint=teacher_ckpt,
                           metric=read_metric(teacher_metrics + '.raw', spec['metric'], spec['scale']),
                           extra={k: raw.get(k, 0.0) * s for k, s in spec.get('extra', {}).items()}), f)
    teacher = json.load(open(teacher_metrics))
    print(f'teacher {spec["metric"]}: {teacher["metric"]:.2f}', flush=True)

    schedule = []
    if args.iters:
        schedule = [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
                    f'default_hooks.checkpoint.interval={args.iters}'] + bench_spec['short'](args.iters)
    schedule += args.cfg_options
    # the protocol's command (--report-only rewrites its tables; the command that ran the runs is the same without it)
    command = 'OMP_NUM_THREADS=1 python benchmarks/distill_benchmark.py ' + ' '.join(
        a for a in sys.argv[1:] if a != '--report-only')
    bench: Benchmark

    def report() -> None:
        write_report(bench, teacher, command, args.out_dir, args.jobs,
                     None if args.report_only else time.time() - start)

    bench = Benchmark(args.task, methods, args.seeds, args.factors, args.max_extend, schedule,
                      osp.relpath(teacher_ckpt, REPO), work,
                      execute=None, jobs=args.jobs, on_result=report,  # type: ignore[arg-type]
                      teacher_id=weights_sha256(teacher_ckpt), records=osp.join(args.out_dir, 'runs', args.task))
    bench.execute = make_executor(args.task, env, work, bench.recipe)
    if args.report_only:
        bench.load_finished()
        require_records(bench)
    else:
        bench.protocol()
    report()
    print(open(osp.join(args.out_dir, f'{args.task}.md')).read())


if __name__ == '__main__':
    main()
