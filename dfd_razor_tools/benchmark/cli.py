"""The command line of ``tools/benchmark.py``: its options (:func:`parse_args`), merged with a preset's into the
settings, and :func:`main`, which finds the pair and the teacher, checks the records, and runs the protocol (or
rewrites the tables from the records)."""
import argparse
import os
import os.path as osp
import shlex
import sys
import time
from typing import Any, Dict, List, Optional

from dfd_razor_tools.benchmark.errors import BenchmarkError
from dfd_razor_tools.benchmark.executors import LocalExecutor, SlurmExecutor
from dfd_razor_tools.benchmark.pair import Pair
from dfd_razor_tools.benchmark.protocol import Benchmark, RunSetup, checkpoint_interval, compare_schedules
from dfd_razor_tools.benchmark.records import check_schedule, picks_from_records
from dfd_razor_tools.benchmark.report import write_report
from dfd_razor_tools.benchmark.settings import REFERENCE, SEEDS, Settings, make_pair, merge
from dfd_razor_tools.benchmark.sweep import FACTORS, MAX_EXTEND
from dfd_razor_tools.benchmark.teacher import Teacher, check_teacher, report_teacher, teacher_checkpoint, \
    teacher_metrics, weights_sha256
from dfd_razor_tools.data import resolve_data_root
from dfd_razor_tools.paths import REPO, repo_path
from dfd_razor_tools.run import RunFailed, stop_children_on_signals
from dfd_razor_tools.schedule import recipe_schedule, schedule_length, schedule_options

#: The tool's help: its first paragraph is the description, the rest the epilog.
USAGE = """\
Which distillation method wins on your pair? The held-out comparison, free of selection bias, on this machine or
a Slurm cluster.

    python tools/benchmark.py FOLDER --teacher T.pth --metric coco/bbox_mAP [--pair GLOB] [--cfg-options K=V ...]
    python tools/benchmark.py --preset bccd            # the repository's BCCD benchmark (benchmarks/bccd.md)
    python tools/benchmark.py FOLDER ... --executor local --jobs 4 [--gpus-per-run 2]
    python tools/benchmark.py FOLDER ... --executor slurm --partition gpu --gpus-per-run 1 --time-min 240

FOLDER holds the pair: a student recipe (``student_*.py``) and one recipe per method (``<method>_*.py``: dfd, pkd,
fitnet, ...; shipped ones or your own, anywhere). For every method, the protocol (docs/benchmark.md):

1. sweeps its loss weights (as its loss declares them) at the shipped value times 0.1, 1, 10 on seed 0, one more
   x10 step while the best is at an end, and picks the best on the evaluation split;
2. runs it at the picked and at the shipped weight on the fresh seeds 1, 2, 3, beside the student alone (and
   ``inherit``, the FitNet recipe at weight 0, where the recipes initialise the student from the teacher);
3. writes ``<out-dir>/<name>.md``: means over the fresh seeds only, DFD's paired difference to every other row seed
   by seed, and a verdict (wins / loses / within the spread).

Every run is a record (``<out-dir>/runs/<name>/<run>.json``); an invocation reuses every record whose options and
teacher are identical, so an interrupted benchmark resumes where it stopped, from any machine that sees the folders.
"""


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """The command line's options (None where not given: the preset's, else the default, apply)."""
    parser = argparse.ArgumentParser(description=USAGE.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n\n'.join(USAGE.split('\n\n')[1:]))
    pair = parser.add_argument_group('the pair')
    pair.add_argument('folder', nargs='?', help='the folder of the pair\'s recipes (student_*.py, <method>_*.py)')
    pair.add_argument('--preset', help='a preset (benchmarks/presets/<name>.py, or a path to such a file): the '
                      'defaults of every option below, e.g. bccd or camvid')
    pair.add_argument('--pair', help='glob of the method recipes\' file names, for a folder of several pairs '
                      '(e.g. "*_300i_bccd.py")')
    pair.add_argument('--student', help='the student recipe, when the folder holds several')
    pair.add_argument('--methods', nargs='+', help='the rows to run: student, inherit, methods, variants '
                      '(default: every one the folder has)')
    pair.add_argument('--variant', nargs='+', action='append', default=None, metavar='WORD',
                      help='a variant row, NAME=METHOD then KEY=VALUE options: METHOD\'s recipe with these '
                      '--cfg-options, swept and run at its picked weight (repeatable)')
    pair.add_argument('--reference', help=f'the row whose paired differences the tables give (default {REFERENCE})')
    pair.add_argument('--teacher', help='the teacher checkpoint (default: the recipes\' model.teacher_ckpt; a preset '
                      'trains its teacher when missing)')
    pair.add_argument('--name', help='names the tables and records (default: the preset\'s, or the folder\'s name)')
    data = parser.add_argument_group('data and metric')
    data.add_argument('--metric', help='the headline metric\'s key in the metrics file (coco/bbox_mAP, mIoU, coco/AP)')
    data.add_argument('--scale', type=float, help='factor to percent (default: 100 for COCO/VOC keys, else 1)')
    data.add_argument('--extra-metrics', nargs='+', help='metrics reported beside the headline')
    data.add_argument('--label', help='the metric\'s name in the tables (default: its key)')
    data.add_argument('--cfg-options', nargs='+', help='overrides for every run and the teacher\'s evaluation '
                      '(data roots, annotation files, the evaluation split)')
    data.add_argument('--data-root', help='$DFD_DATA_ROOT of every run (the bundled small datasets)')
    protocol = parser.add_argument_group('protocol')
    protocol.add_argument('--schedule', '--iters', type=int, dest='schedule',
                          help='the student schedule\'s length: iterations (an iteration-based recipe) or epochs '
                          '(default: the recipe\'s)')
    protocol.add_argument('--picks-from', metavar='RECORDS',
                          help='a records folder of the same pair and teacher (<out-dir>/runs/<name>, e.g. '
                          'benchmarks/runs/bccd): every row runs at the weight that folder\'s first-seed sweep '
                          'picked, over the fresh seeds only (no sweep, no shipped-weight runs): a schedule study')
    protocol.add_argument('--seeds', type=int, nargs='+', help=f'the first picks the weights, the others are the '
                          f'fresh seeds of the headline (default {" ".join(map(str, SEEDS))})')
    protocol.add_argument('--factors', type=float, nargs='+', help='the sweep of each shipped weight (default '
                          f'{" ".join(f"{f:g}" for f in FACTORS)})')
    protocol.add_argument('--max-extend', type=int, help=f'x10 steps past the range, per side (default {MAX_EXTEND})')
    run = parser.add_argument_group('where the runs go')
    run.add_argument('--executor', choices=['local', 'slurm'], default='local')
    run.add_argument('--jobs', type=int, help='runs at a time (local, default 1); jobs in flight (slurm, default: '
                     'all of a protocol step)')
    run.add_argument('--gpus-per-run', type=int, default=1, help='GPUs of each run (> 1: tools/dist_train.sh; slurm: '
                     '0 for CPU jobs)')
    run.add_argument('--threads-per-run', type=int, help='OMP_NUM_THREADS of each run on a CPU machine (default: '
                     '$OMP_NUM_THREADS, else the cores shared out)')
    run.add_argument('--checkpoint-every', type=int, metavar='N',
                     help='each run saves a checkpoint every N iterations (epochs, for an epoch-based student) and '
                     'keeps the latest, so that a run cut short (Ctrl-C, a Slurm time limit, a lost machine) goes '
                     'on from it at the next invocation (default: a quarter of the student\'s schedule; 0: only '
                     'the recipe\'s own checkpoints)')
    run.add_argument('--partition', help='slurm: the partition')
    run.add_argument('--cpus-per-run', type=int, default=4, help='slurm: CPUs of each job')
    run.add_argument('--time-min', type=int, default=120, help='slurm: time limit of each job, minutes')
    run.add_argument('--slurm-option', nargs='+', default=[], metavar='KEY=VALUE',
                     help='slurm: more sbatch options (account=..., qos=..., constraint=...)')
    run.add_argument('--slurm-cluster', choices=['slurm', 'local', 'debug'], default='slurm',
                     help='slurm: submitit\'s local or debug executor instead of sbatch (to try the path without '
                     'a cluster)')
    out = parser.add_argument_group('output')
    out.add_argument('--work-dir', help='runs\' logs and checkpoints go to <work-dir>/<name>/ (default '
                     'work_dirs/benchmark in the repository)')
    out.add_argument('--out-dir', help='tables, and records in <out-dir>/runs/<name>/ (default: the preset\'s, '
                     'else <work-dir>/<name>)')
    out.add_argument('--report-only', action='store_true', help='rewrite the tables from the records, run nothing')
    out.add_argument('--compare-schedules', type=int, nargs='+', metavar='N',
                     help='with --report-only: the shipped schedule\'s tables beside those of each --schedule N run '
                     'with --picks-from the shipped one\'s records: <name>_schedules.md and .png (metric against '
                     'length per row, the reference against the best other row at each length)')
    out.add_argument('--new-teacher', action='store_true', help='go on although the records were made with a teacher '
                     'of other weights (their distilled runs are run again with this one)')
    return parser.parse_args(argv)


def settings(args: argparse.Namespace) -> Settings:
    """The options, each from the command line, else the preset, else its default (:func:`merge`)."""
    return merge(vars(args))


def tables_argv(argv: List[str]) -> List[str]:
    """The arguments the benchmark's own tables name: without ``--compare-schedules N ...``, which writes another
    report (the schedules one names it), so that a comparison leaves the tables it reads as they were."""
    out, skipping = [], False
    for a in argv:
        if a == '--compare-schedules' or a.startswith('--compare-schedules='):
            skipping = a == '--compare-schedules'
        elif not (skipping and a.isdigit()):
            skipping = False
            out.append(a)
    return out



def make_executor(s: Settings, work: str) -> Any:
    """The executor the options ask for.

    Raises:
        BenchmarkError: A ``--slurm-option`` that is not KEY=VALUE.
    """
    if s.executor == 'local':
        return LocalExecutor(jobs=s.jobs or 1, gpus_per_run=max(1, s.gpus_per_run), threads_per_run=s.threads_per_run)
    additional = {}
    for item in s.slurm_option:
        if '=' not in item:
            raise BenchmarkError(f'--slurm-option {item}: KEY=VALUE')
        k, v = item.split('=', 1)
        additional[k] = v
    return SlurmExecutor(folder=osp.join(work, 'slurm'), partition=s.partition, gpus_per_run=s.gpus_per_run,
                         cpus_per_run=s.cpus_per_run, time_min=s.time_min, jobs=s.jobs, additional=additional,
                         cluster=s.slurm_cluster)


def description(s: Settings, pair: Pair) -> str:
    """The pair's paragraph for the tables; with --schedule, a line that says how long these runs train (the
    paragraph names the recipes' schedule, which they do not have)."""
    if not s.schedule:
        return s.description
    shipped = recipe_schedule(pair.student)
    return (s.description + '\n\n' if s.description else '') + (
        f'Schedule: every student here trains {s.schedule} {shipped.words} (`--schedule {s.schedule}`: the '
        f'recipes\' {shipped.length} {shipped.words}, their learning-rate milestones scaled by the same factor).')


def environment(s: Settings) -> Dict[str, str]:
    """What every run adds to its environment: ``DFD_DATA_ROOT`` (the preset's bundled data, or --data-root)."""
    if s.data:
        return dict(DFD_DATA_ROOT=resolve_data_root(list(s.data), s.data_root))
    return dict(DFD_DATA_ROOT=osp.abspath(s.data_root)) if s.data_root else {}


def main(argv: Optional[List[str]] = None) -> None:
    """Run the benchmark that the command line ``argv`` (default: ``sys.argv[1:]``) asks for and print its tables.

    Raises:
        BenchmarkError: A bad pair, preset, checkpoint or option (and the errors of the steps it runs).
    """
    args = parse_args(argv)
    if args.compare_schedules and (not args.report_only or args.schedule or args.picks_from):
        raise BenchmarkError('--compare-schedules N ...: with --report-only, and without --schedule or --picks-from '
                             '(it reads the shipped schedule\'s records and those of each --schedule N run)')
    start = time.time()
    s = settings(args)
    pair = make_pair(s)
    work = osp.join(osp.abspath(s.work_dir) if s.work_dir else osp.join(REPO, 'work_dirs', 'benchmark'), pair.name)
    out_dir = s.path('out_dir') if s.out_dir else work
    os.makedirs(work, exist_ok=True)
    env = environment(s)
    full_env = dict(os.environ, **env)
    metric = s.headline()

    teacher = teacher_checkpoint(s, pair, full_env, work)
    # --report-only on a machine that has not trained the preset's teacher: the records say which teacher they had
    teacher_id = weights_sha256(teacher) if osp.isfile(teacher) or not s.report_only else ''
    records = osp.join(out_dir, 'runs', pair.name)
    base = (schedule_options(pair.student, s.schedule) if s.schedule else []) + list(s.cfg_options)
    if s.picks_from and osp.realpath(osp.abspath(s.picks_from)) == osp.realpath(records):
        raise BenchmarkError(f'--picks-from {s.picks_from}: the records of this invocation go to that very folder '
                             f'({repo_path(records)}), where they would replace the sweep they pick from; give '
                             '--name another name')
    if s.report_only:
        current = teacher_id
        teacher_id, teacher_result = report_teacher(records, teacher, teacher_id)
        if not teacher_result and teacher_id == current:  # records older than teacher.json: the work dir's cache
            teacher_result = teacher_metrics(s, pair, teacher, teacher_id, metric, full_env, work, records, run=False)
    else:
        check_teacher(records, teacher, teacher_id, s.new_teacher)
        check_schedule(records, base, pair.student)
        teacher_result = teacher_metrics(s, pair, teacher, teacher_id, metric, full_env, work, records)
    if teacher_result:
        print(f'teacher {metric.key}: {teacher_result["metric"]:.2f}', flush=True)
    executor = None if s.report_only else make_executor(s, work)
    how = executor.describe() if executor else ''
    argv_shown = [a for a in (sys.argv[1:] if argv is None else argv) if a != '--report-only']
    command = 'python tools/benchmark.py ' + ' '.join(shlex.quote(a) for a in argv_shown)
    table_command = 'python tools/benchmark.py ' + ' '.join(shlex.quote(a) for a in tables_argv(argv_shown))
    bench: Benchmark
    paragraph = description(s, pair)

    def report() -> str:
        return write_report(bench, teacher_result, table_command, out_dir, how,
                            None if s.report_only else time.time() - start, paragraph)

    picks, source = None, ''
    if s.picks_from:
        source = repo_path(osp.abspath(s.picks_from))
        picks = picks_from_records(osp.abspath(s.picks_from), s.methods or pair.rows(), s.seeds[0], s.factors,
                                   s.max_extend, teacher_id)
    runs = RunSetup(work=work, records=records, base_options=base, env=env, processes=max(1, s.gpus_per_run),
                    checkpoint_every=checkpoint_interval(s.checkpoint_every,
                                                         s.schedule or schedule_length(pair.student)))
    bench = Benchmark(pair, s, Teacher(repo_path(teacher), teacher_id), runs, executor, on_result=report,
                      picks=picks, picks_source=source)
    if s.report_only:
        bench.load_finished()
        if not bench.records:
            raise BenchmarkError(f'--report-only: no record in {bench.records_dir} matches these options and this '
                                 'teacher')
    else:
        bench.protocol()
    path = report()
    if s.compare_schedules:
        path = compare_schedules(bench, s.compare_schedules, out_dir, command, own_out_dir=not s.out_dir)
    print(open(path).read())


def run(argv: Optional[List[str]] = None) -> None:
    """:func:`main`, with a bad pair, preset, checkpoint or option, or a failed teacher step, reported as one line
    (exit status 2). SIGTERM or SIGINT stops the runs it started (they leave no record) before it exits."""
    stop_children_on_signals()
    try:
        main(argv)
    except Exception as e:  # noqa: BLE001  (only the errors below; dfd_razor's are known once it is imported)
        errors = sys.modules.get('dfd_razor.errors')
        known = (ValueError, FileNotFoundError, RunFailed) + ((errors.RecipeError,) if errors else ())
        if not isinstance(e, known):  # BenchmarkError and ExecutorError are ValueErrors
            raise
        print(f'error: {e}', file=sys.stderr, flush=True)
        sys.exit(2)
