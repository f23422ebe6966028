"""Which distillation method wins on your pair? The held-out comparison, free of selection bias, on this machine or
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
import argparse
import glob
import json
import os
import os.path as osp
import shlex
import sys
import time
import warnings
from typing import Any, Dict, List, Optional, Tuple

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')  # the OpenMMLab packages' imports

from dfd_razor_tools.benchmark import (CONTROLS, FACTORS, MAX_EXTEND, REFERENCE, SEEDS, TEACHER_RECORD, Benchmark,
                                       PROVENANCE, BenchmarkError, Metric, Pair, Variant, absolute, cpu_model,
                                       find_pair, load_preset, picks_from_records, repo_path, schedule_options,
                                       teacher_provenance, weights_sha256)
from dfd_razor_tools.benchmark_report import write_report
from dfd_razor_tools.run import (REPO, RunFailed, read_metric, run_logged, stop_children_on_signals, test_recipe,
                                 train_command)

#: Metrics that OpenMMLab reports as fractions (COCO, VOC: mmdet, mmyolo, mmpose): x100 to percent by default.
FRACTION_PREFIXES = ('coco/', 'pascal_voc/', 'PCK', 'AUC')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
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


def settings(args: argparse.Namespace) -> Dict[str, Any]:
    """The options, each from the command line, else the preset, else its default."""
    preset = load_preset(args.preset) if args.preset else {}
    given = {k: v for k, v in vars(args).items() if v is not None}
    merged = dict(preset, **given)
    if 'variant' in given:
        merged['variants'] = dict(preset.get('variants', {}))
        for entry in given['variant']:
            if '=' not in entry[0]:
                raise BenchmarkError(f'--variant {" ".join(entry)}: the first word must be NAME=METHOD')
            name, method = entry[0].split('=', 1)
            merged['variants'][name] = (method, entry[1:])
    if not merged.get('folder'):
        raise BenchmarkError('give the pair\'s folder (or --preset)')
    if not merged.get('metric'):
        raise BenchmarkError('give --metric, the headline metric\'s key in the metrics file tools/test.py writes '
                             '(coco/bbox_mAP, mIoU, coco/AP, ...)')
    merged.setdefault('scale', 100.0 if merged['metric'].startswith(FRACTION_PREFIXES) else 1.0)
    extra = merged.get('extra_metrics') or {}
    if isinstance(extra, list):
        extra = {k: 100.0 if k.startswith(FRACTION_PREFIXES) else 1.0 for k in extra}
    merged['extra_metrics'] = extra
    merged.setdefault('seeds', list(SEEDS))
    merged.setdefault('factors', list(FACTORS))
    merged.setdefault('max_extend', MAX_EXTEND)
    merged.setdefault('reference', REFERENCE)
    merged.setdefault('cfg_options', [])
    merged.setdefault('variants', {})
    return merged


def folder_path(path: str, from_preset: bool) -> str:
    """A preset's paths are relative to the repository, the command line's to the current directory."""
    return absolute(path) if from_preset else osp.abspath(path)


def make_pair(s: Dict[str, Any], args: argparse.Namespace) -> Tuple[Pair, Optional[List[str]]]:
    """The pair of the settings' folder, with its variants; and the rows asked for (None: every row)."""
    from_preset = bool(args.preset) and args.folder is None
    rows = s.get('methods')
    variants = {n: Variant(method=v[0], options=list(v[1])) for n, v in s['variants'].items()
                if not rows or n in rows}
    needed = None
    if rows:
        needed = [r for r in rows if r not in CONTROLS and r not in variants]
        needed += [v.method for v in variants.values() if v.method not in needed]
        if 'inherit' in rows and 'fitnet' not in needed:
            needed.append('fitnet')
    pair = find_pair(folder_path(s['folder'], from_preset), s.get('pair') or '*', s.get('student'), needed,
                     s.get('name'))
    if s.get('schedule') and not args.name:  # another schedule's records never overwrite the shipped one's
        pair.name = f'{pair.name}_{s["schedule"]}{shipped_schedule(pair.student)[1]}'
    for name, variant in variants.items():
        if variant.method not in pair.methods:
            raise BenchmarkError(f'variant {name}: no {variant.method} recipe in {s["folder"]}')
    pair.variants = variants
    if rows and 'inherit' in rows and not pair.inherit:
        raise BenchmarkError(f'--methods inherit: the FitNet recipe of {s["folder"]} initialises nothing from the '
                             'teacher (model.inherit_from_teacher), so inherit would be the student alone')
    return pair, rows


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


def checkpoint_interval(given: Optional[int], length: int) -> int:
    """--checkpoint-every: as given (0: the recipe's own checkpoints), else a quarter of the student's schedule
    ``length`` (rounded up), so that a run cut short loses at most a quarter of its training."""
    if given is None:
        return max(1, -(-length // 4))
    if given < 0:
        raise BenchmarkError(f'--checkpoint-every {given}: must be >= 0 (0: only the recipe\'s own checkpoints)')
    return given


def shipped_schedule(student: str) -> Tuple[int, str]:
    """The student recipe's schedule length and its unit ('i': iterations, 'e': epochs)."""
    from mmengine.config import Config
    train = Config.fromfile(absolute(student)).get('train_cfg') or {}
    if 'max_iters' in train:
        return int(train['max_iters']), 'i'
    if 'max_epochs' in train:
        return int(train['max_epochs']), 'e'
    raise BenchmarkError(f'{student}: train_cfg has neither max_iters nor max_epochs')


def teacher_checkpoint(s: Dict[str, Any], args: argparse.Namespace, pair: Pair, env: Dict[str, str],
                       work: str) -> str:
    """The teacher checkpoint (absolute): --teacher; a preset's, trained (or resumed) when missing; else the
    recipes' model.teacher_ckpt."""
    if s.get('teacher'):
        path = osp.abspath(s['teacher']) if args.teacher else absolute(s['teacher'])
        if not osp.isfile(path):
            raise BenchmarkError(f'--teacher {s["teacher"]}: no such file')
        return path
    if s.get('teacher_recipe'):
        from dfd_razor_tools.demo_tasks import schedule_length, teacher_state
        recipe, teacher_dir = s['teacher_recipe'], absolute(s['teacher_work_dir'])
        state = teacher_state(teacher_dir, schedule_length(recipe), recipe)
        if not state['finished']:  # a teacher that stopped early is resumed, never used
            if args.report_only:  # nothing runs: the records' teacher.json names the teacher, no checkpoint is read
                return osp.join(teacher_dir, f'iter_{schedule_length(recipe)}.pth')
            print(f'training the teacher ({recipe})' + (f', resuming {state["partial"]}' if state['partial'] else ''),
                  flush=True)
            if s.get('teacher_threads'):  # the same weights on another machine (of the same CPU) need the same count
                env = dict(env, OMP_NUM_THREADS=str(s['teacher_threads']))
            run_logged('train', train_command(recipe, teacher_dir, resume=bool(state['partial'])),
                       osp.join(work, 'teacher.log'), env)
            state = teacher_state(teacher_dir, schedule_length(recipe))
            with open(osp.join(teacher_dir, PROVENANCE), 'w') as f:
                json.dump(teacher_provenance(absolute(recipe), state['finished'], env, bool(state['partial'])), f,
                          indent=1)
        return state['finished']
    from mmengine.config import Config
    if not pair.methods:
        raise BenchmarkError('--methods names controls only, so no recipe names the teacher: give --teacher CKPT '
                             '(the tables report it)')
    recipe = pair.methods.get(s['reference']) or next(iter(pair.methods.values()))
    given = [o.split('=', 1)[1] for o in s['cfg_options'] if o.startswith('model.teacher_ckpt=')]
    ckpt = given[-1] if given else Config.fromfile(absolute(recipe)).model.get('teacher_ckpt')
    where = '--cfg-options' if given else recipe
    if not ckpt or '://' in ckpt or not osp.isfile(absolute(ckpt)):
        raise BenchmarkError(f'no teacher checkpoint: {where} sets model.teacher_ckpt={ckpt!r}, not a local file; '
                             'give --teacher CKPT (the records identify the teacher by its weights\' sha256)')
    return absolute(ckpt)


def teacher_metrics(s: Dict[str, Any], pair: Pair, checkpoint: str, teacher_id: str, metric: Metric,
                    env: Dict[str, str], work: str, records: str, run: bool = True) -> Dict[str, Any]:
    """The teacher's metrics on the evaluation split, cached in <work>/teacher_metrics.json (evaluated when the cache
    does not fit, if ``run``; else {} then) and kept with the records (``<records>/teacher.json``)."""
    cache = osp.join(work, 'teacher_metrics.json')
    key = dict(checkpoint=repo_path(checkpoint), teacher_id=teacher_id, options=list(s['cfg_options']),
               metric=metric.key)
    if osp.isfile(cache) and json.load(open(cache)).get('key') == key:
        result = json.load(open(cache))
    elif not run:
        return {}
    else:
        result = _evaluate_teacher(s, pair, checkpoint, metric, env, work)
        result['key'] = key
        with open(cache, 'w') as f:
            json.dump(result, f, indent=1)
    os.makedirs(records, exist_ok=True)
    kept = dict(teacher_id=teacher_id, checkpoint=result['checkpoint'], metric=result['metric'], extra=result['extra'])
    provenance = osp.join(osp.dirname(checkpoint), PROVENANCE)  # how the tool trained it, when it did
    if osp.isfile(provenance) and json.load(open(provenance)).get('teacher_id') == teacher_id:
        kept['provenance'] = json.load(open(provenance))
    with open(osp.join(records, TEACHER_RECORD), 'w') as f:  # with the records: --report-only reads it
        json.dump(kept, f, indent=1)
    return result


def _evaluate_teacher(s: Dict[str, Any], pair: Pair, checkpoint: str, metric: Metric, env: Dict[str, str],
                      work: str) -> Dict[str, Any]:
    if not s.get('teacher_recipe') and not pair.methods:
        raise BenchmarkError('--methods names controls only: the teacher is evaluated with a method recipe (or a '
                             'preset\'s teacher_recipe); add one, e.g. --methods student dfd')
    recipe = s.get('teacher_recipe') or pair.methods.get(s['reference']) or next(iter(pair.methods.values()))
    print(f'evaluating the teacher ({repo_path(checkpoint)})', flush=True)
    _, metrics_file, _ = test_recipe(absolute(recipe), checkpoint, osp.join(work, 'teacher_eval'), s['cfg_options'],
                                     env, teacher=not s.get('teacher_recipe'))
    raw = json.load(open(metrics_file))['metrics']
    return dict(checkpoint=repo_path(checkpoint), metric=read_metric(metrics_file, metric.key, metric.scale),
                extra={k: raw.get(k, 0.0) * f for k, f in metric.extra.items()})


def record_teachers(records: str) -> Dict[str, int]:
    """Teacher weights' sha256 -> how many of the records in ``records`` were made with it (runs without a teacher,
    the student alone, are not counted)."""
    made: Dict[str, int] = {}
    for path in glob.glob(osp.join(records, '*.json')):
        tid = json.load(open(path)).get('teacher_id', '') if osp.basename(path) != TEACHER_RECORD else ''
        if tid:
            made[tid] = made.get(tid, 0) + 1
    return made


def check_teacher(records: str, teacher: str, teacher_id: str, accept: bool) -> None:
    """Stop before rerunning every distilled run because the teacher's weights differ from those the records were
    made with (a teacher retrained elsewhere, another checkpoint), unless ``accept``."""
    others = {tid: n for tid, n in record_teachers(records).items() if tid != teacher_id}
    if others and not accept:
        counts = ', '.join(f'{n} with {tid[:12]}...' for tid, n in others.items())
        # a seeded teacher retrained on another CPU has other weights: say where the records' teacher was trained
        made = recorded_teacher(records, next(iter(others))).get('provenance', {}) if len(others) == 1 else {}
        where = (f' Their teacher was trained on {made["cpu"]} with OMP_NUM_THREADS={made["omp_num_threads"]}, this '
                 f'machine is {cpu_model()}: the same seeded recipe gives the same weights only on the same CPU and '
                 'thread count.' if made.get('cpu') else '')
        raise BenchmarkError(f'{records}: records of another teacher ({counts}); this one ({repo_path(teacher)}) has '
                             f'weights sha256 {teacher_id[:12]}..., so none of their distilled runs would be reused.'
                             f'{where} Give the teacher they were made with (--teacher), or --new-teacher to run '
                             'them again')


def options_schedule(options: List[str], shipped: int, unit: str) -> int:
    """The student schedule's length that ``options`` (a run's --cfg-options) train: the last ``train_cfg.max_iters``
    (``unit`` 'i') or ``train_cfg.max_epochs`` ('e') they set, else the recipe's ``shipped`` length."""
    key = 'train_cfg.max_iters=' if unit == 'i' else 'train_cfg.max_epochs='
    length = shipped
    for option in options:
        if option.startswith(key):
            length = int(option[len(key):])
    return length


def check_schedule(records: str, options: List[str], student: str) -> None:
    """Stop before running into a records folder that holds records of another schedule length: their runs have the
    names these runs would have, so each would be run again and its record replaced (``--name X --schedule N``
    where X is the shipped schedule's folder, or the converse)."""
    shipped, unit = shipped_schedule(student)
    mine = options_schedule(options, shipped, unit)
    others: Dict[int, int] = {}
    for path in glob.glob(osp.join(records, '*.json')):
        if osp.basename(path) != TEACHER_RECORD:
            length = options_schedule(json.load(open(path)).get('options', []), shipped, unit)
            if length != mine:
                others[length] = others.get(length, 0) + 1
    if others:
        words = 'iterations' if unit == 'i' else 'epochs'
        counts = ', '.join(f'{n} at {length} {words}' for length, n in sorted(others.items()))
        raise BenchmarkError(f'{repo_path(records)}: records of another schedule ({counts}); these runs train {mine} '
                             f'{words} and would replace them. Give --name a folder of their own (e.g. '
                             f'{osp.basename(records.rstrip(os.sep))}_{mine}{unit})')


def report_teacher(records: str, teacher: str, teacher_id: str) -> Tuple[str, Dict[str, Any]]:
    """--report-only: the teacher whose records the tables show, and its metrics as recorded (``{}`` if not).

    Nothing runs, so the tables can be written from records made with a teacher whose checkpoint is gone (a teacher
    retrained on another machine has other weights): when every distilled record was made with one other teacher,
    the tables are those records', and a line says so; so they are when a preset's teacher is not trained on this
    machine (``teacher_id`` empty: a fresh clone reads the committed records without training one), or, when only
    the controls ran (they need no teacher), those of ``teacher.json``'s teacher. Records of several teachers, none
    of them this one, are an error: a table mixes no teachers.
    """
    made = record_teachers(records)
    if not teacher_id and not made:  # no checkpoint here and only controls recorded: teacher.json names the teacher
        kept = osp.join(records, TEACHER_RECORD)
        made = {json.load(open(kept))['teacher_id']: 0} if osp.isfile(kept) else {}
    if not teacher_id and len(made) == 1:  # no checkpoint here (a preset's teacher not trained on this machine)
        other = next(iter(made))
        print(f'--report-only: {repo_path(teacher)} is not trained here; the tables are those of the records\' '
              f'teacher ({other[:12]}...)', flush=True)
        return other, recorded_teacher(records, other)
    if teacher_id in made or not made:
        return teacher_id, recorded_teacher(records, teacher_id)
    if len(made) > 1:
        counts = ', '.join(f'{n} with {tid[:12]}...' for tid, n in sorted(made.items()))
        raise BenchmarkError(f'--report-only: {records} holds records of several teachers ({counts}), none of them '
                             f'{repo_path(teacher)} ({teacher_id[:12]}...); give the teacher of the tables (--teacher)')
    other = next(iter(made))
    print(f'--report-only: the records were made with teacher {other[:12]}..., not {repo_path(teacher)} '
          f'({teacher_id[:12]}...): the tables are those records\'', flush=True)
    return other, recorded_teacher(records, other)


def recorded_teacher(records: str, teacher_id: str) -> Dict[str, Any]:
    """The teacher's metrics kept beside the records (``<records>/teacher.json``, written when the teacher is
    evaluated) if they are this teacher's, else ``{}``."""
    path = osp.join(records, TEACHER_RECORD)
    if osp.isfile(path):
        kept = json.load(open(path))
        if kept.get('teacher_id') == teacher_id:
            return kept
    return {}


def make_executor(args: argparse.Namespace, work: str) -> Any:
    """The executor the options ask for."""
    from dfd_razor_tools.executors import LocalExecutor, SlurmExecutor
    if args.executor == 'local':
        return LocalExecutor(jobs=args.jobs or 1, gpus_per_run=max(1, args.gpus_per_run),
                             threads_per_run=args.threads_per_run)
    additional = {}
    for item in args.slurm_option:
        if '=' not in item:
            raise BenchmarkError(f'--slurm-option {item}: KEY=VALUE')
        k, v = item.split('=', 1)
        additional[k] = v
    return SlurmExecutor(folder=osp.join(work, 'slurm'), partition=args.partition, gpus_per_run=args.gpus_per_run,
                         cpus_per_run=args.cpus_per_run, time_min=args.time_min, jobs=args.jobs,
                         additional=additional, cluster=args.slurm_cluster)


def compare_schedules(bench: Benchmark, s: Dict[str, Any], lengths: List[int], out_dir: str, work: str,
                      command: str, own_out_dir: bool) -> str:
    """--compare-schedules: the benchmark of each length N (its records as ``--schedule N --picks-from`` the shipped
    schedule's records wrote them, read, nothing run) beside the shipped schedule's ``bench``; the report's path.
    ``own_out_dir``: the tables and records of each name default to its own work dir (no --out-dir, no preset's)."""
    import dataclasses

    from dfd_razor_tools.schedule_report import write_schedule_report
    shipped, unit = shipped_schedule(bench.pair.student)
    picks = picks_from_records(bench.records_dir, bench.rows, bench.seeds[0], bench.factors, bench.max_extend,
                               bench.teacher_id)
    benches = [(shipped, bench)]
    for n in sorted(set(lengths) - {shipped}):
        pair = dataclasses.replace(bench.pair, name=f'{bench.pair.name}_{n}{unit}')
        other = Benchmark(pair, bench.rows, bench.seeds, bench.factors, bench.max_extend,
                          schedule_options(pair.student, n) + list(s['cfg_options']), bench.teacher, bench.teacher_id,
                          osp.join(osp.dirname(work), pair.name),
                          osp.join(osp.join(osp.dirname(work), pair.name) if own_out_dir else out_dir, 'runs',
                                   pair.name), None,
                          bench.metric, bench.env, bench.processes, bench.reference, picks=picks,
                          picks_source=repo_path(bench.records_dir))
        other.load_finished()
        if not other.records:
            raise BenchmarkError(f'--compare-schedules: no record in {other.records_dir} matches the {n}-{unit} '
                                 f'options and this teacher (run: --schedule {n} --picks-from '
                                 f'{repo_path(bench.records_dir)})')
        benches.append((n, other))
    return write_schedule_report(sorted(benches, key=lambda b: b[0]), out_dir, bench.metric.label,
                                 'iterations' if unit == 'i' else 'epochs', command)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.compare_schedules and (not args.report_only or args.schedule or args.picks_from):
        raise BenchmarkError('--compare-schedules N ...: with --report-only, and without --schedule or --picks-from '
                             '(it reads the shipped schedule\'s records and those of each --schedule N run)')
    start = time.time()
    s = settings(args)
    pair, rows = make_pair(s, args)
    name = pair.name
    from_preset = bool(args.preset)
    work = osp.join(osp.abspath(args.work_dir) if args.work_dir else osp.join(REPO, 'work_dirs', 'benchmark'), name)
    if args.out_dir:
        out_dir = osp.abspath(args.out_dir)
    elif s.get('out_dir'):
        out_dir = absolute(s['out_dir']) if from_preset else osp.abspath(s['out_dir'])
    else:
        out_dir = work
    os.makedirs(work, exist_ok=True)
    env: Dict[str, str] = {}
    if s.get('data'):
        from dfd_razor_tools.data import resolve_data_root
        env['DFD_DATA_ROOT'] = resolve_data_root(list(s['data']), args.data_root)
    elif args.data_root:
        env['DFD_DATA_ROOT'] = osp.abspath(args.data_root)
    full_env = dict(os.environ, **env)
    metric = Metric(s['metric'], float(s['scale']), dict(s['extra_metrics']), s.get('label') or '')

    teacher = teacher_checkpoint(s, args, pair, full_env, work)
    # --report-only on a machine that has not trained the preset's teacher: the records say which teacher they had
    teacher_id = weights_sha256(teacher) if osp.isfile(teacher) or not args.report_only else ''
    records = osp.join(out_dir, 'runs', name)
    base = (schedule_options(pair.student, s['schedule']) if s.get('schedule') else []) + list(s['cfg_options'])
    if s.get('picks_from') and osp.realpath(folder_path(s['picks_from'], False)) == osp.realpath(records):
        raise BenchmarkError(f'--picks-from {s["picks_from"]}: the records of this invocation go to that very folder '
                             f'({repo_path(records)}), where they would replace the sweep they pick from; give '
                             '--name another name')
    if args.report_only:
        current = teacher_id
        teacher_id, teacher_result = report_teacher(records, teacher, teacher_id)
        if not teacher_result and teacher_id == current:  # records older than teacher.json: the work dir's cache
            teacher_result = teacher_metrics(s, pair, teacher, teacher_id, metric, full_env, work, records, run=False)
    else:
        check_teacher(records, teacher, teacher_id, args.new_teacher)
        check_schedule(records, base, pair.student)
        teacher_result = teacher_metrics(s, pair, teacher, teacher_id, metric, full_env, work, records)
    if teacher_result:
        print(f'teacher {metric.key}: {teacher_result["metric"]:.2f}', flush=True)
    executor = None if args.report_only else make_executor(args, work)
    how = executor.describe() if executor else ''
    argv_shown = [a for a in (sys.argv[1:] if argv is None else argv) if a != '--report-only']
    command = 'python tools/benchmark.py ' + ' '.join(shlex.quote(a) for a in argv_shown)
    table_command = 'python tools/benchmark.py ' + ' '.join(shlex.quote(a) for a in tables_argv(argv_shown))
    bench: Benchmark
    description = s.get('description', '')
    if s.get('schedule'):  # the pair's paragraph names the recipes' schedule, which these runs do not have
        shipped, unit = shipped_schedule(pair.student)
        words = 'iterations' if unit == 'i' else 'epochs'
        description = (description + '\n\n' if description else '') + (
            f'Schedule: every student here trains {s["schedule"]} {words} (`--schedule {s["schedule"]}`: the '
            f'recipes\' {shipped} {words}, their learning-rate milestones scaled by the same factor).')

    def report() -> str:
        return write_report(bench, teacher_result, table_command, out_dir, how,
                            None if args.report_only else time.time() - start, description)

    picks, source = None, ''
    if s.get('picks_from'):
        source = repo_path(folder_path(s['picks_from'], False))
        picks = picks_from_records(absolute(source), rows or pair.rows(), s['seeds'][0], s['factors'],
                                   s['max_extend'], teacher_id)
    bench = Benchmark(pair, rows, s['seeds'], s['factors'], s['max_extend'], base, repo_path(teacher), teacher_id,
                      work, records, executor, metric, env, max(1, args.gpus_per_run),
                      s['reference'], on_result=report, picks=picks, picks_source=source,
                      checkpoint_every=checkpoint_interval(args.checkpoint_every, s.get('schedule') or
                                                           shipped_schedule(pair.student)[0]))
    if args.report_only:
        bench.load_finished()
        if not bench.records:
            raise BenchmarkError(f'--report-only: no record in {bench.records_dir} matches these options and this '
                                 'teacher')
    else:
        bench.protocol()
    path = report()
    if args.compare_schedules:
        path = compare_schedules(bench, s, args.compare_schedules, out_dir, work, command,
                                 own_out_dir=not (args.out_dir or s.get('out_dir')))
    print(open(path).read())


def cli() -> None:
    """main(), with a bad pair, preset, checkpoint or option, or a failed teacher step, reported as one line (exit
    status 2). SIGTERM or SIGINT stops the runs it started (they leave no record) before it exits."""
    stop_children_on_signals()
    try:
        main()
    except Exception as e:  # noqa: BLE001  (only the errors below; dfd_razor's are known once it is imported)
        errors = sys.modules.get('dfd_razor.errors')
        known = (ValueError, FileNotFoundError, RunFailed) + ((errors.RecipeError,) if errors else ())
        if not isinstance(e, known):  # BenchmarkError and ExecutorError are ValueErrors
            raise
        print(f'error: {e}', file=sys.stderr, flush=True)
        sys.exit(2)


if __name__ == '__main__':
    cli()
