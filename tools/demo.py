"""The main job on CPU: a teacher, the student alone and the student with DFD, scored on images none of them trained on.

    python tools/demo.py                      # detection: RetinaNet on BCCD blood cells, scored on the val split
    python tools/demo.py --task seg           # segmentation: PSPNet on CamVid, scored on the val split
    python tools/demo.py --task yolo          # YOLOv6-T -> YOLOv6-N (MMYOLO) on BCCD blood cells, scored on val
    python tools/demo.py --task pose          # top-down heatmap pose on pose_minicoco (training people); or --task all
    python tools/demo.py --verbose            # the mmengine logs live, besides the progress bars
    python tools/demo.py --data-root DIR      # where bccd/, camvid/, tiny_coco/, pose_minicoco/ are (else see below)

Per task (dfd_razor_tools.cpu_pairs.TASKS), one progress bar per phase, each phase's full log in its work dir:
1. the teacher: reused from the cache (``<work dir>/<task>/teacher``, kept between runs) when it finished the
   teacher recipe's schedule, resumed when it stopped earlier, else trained;
2. the student alone, ``inherit`` (where the DFD recipe initialises the student from the teacher's neck and head:
   that initialisation with no feature loss, the FitNet recipe at weight 0, the benchmark's ``inherit`` control)
   and the student with DFD (at the loss weight the held-out benchmark picked on val), the same seed and schedule,
   each trained and then evaluated on the task's evaluation split (dfd_razor_tools.run.run_recipe);
3. the teacher evaluated; the DFD student exported (tools/export_student.py) and evaluated again, which must give
   the same metrics;
4. the teacher's and the student's latency (benchmarks/latency.py: PyTorch eager, batch 1, an evaluation image);
5. ``<work dir>/<task>/report.md``: the table (model, parameters, metrics, latency, training minutes), a bar chart
   (``metrics.png``) and an attention figure in the style of the paper's figure 1 (``attention.png``: two
   evaluation images, teacher attention, student attention alone and with DFD, disparity, HD mask, boxes).

``--cfg-options`` reach every training and evaluation run (e.g. a shorter schedule). A failed phase prints the last
lines of its log and the log's path (exit status 1). Data: --data-root, else $DFD_DATA_ROOT, else ../shared/data
beside the repository, else ~/.cache/dfd-razor/data, else downloaded there from the datasets' public repositories
and checked (dfd_razor_tools/data.py).
"""
import argparse
import collections
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
import warnings
from typing import Dict, List, Optional

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')  # the OpenMMLab packages' imports

from dfd_razor_tools.benchmark.teacher import teacher_state
from dfd_razor_tools.benchmark.weights import inherit_options
from dfd_razor_tools.cpu_pairs import (DEMO_TASKS, METRIC_NAMES, TASKS, benchmark_has_picked, dfd_weight_options,
                                       metric_columns, read_metric, recipe)
from dfd_razor_tools.data import resolve_data_root
from dfd_razor_tools.paths import REPO
from dfd_razor_tools.run import Call, last_checkpoint, run_recipe, test_recipe
from dfd_razor_tools.schedule import schedule_length

# mmengine's progress lines: "Iter(train) [ 20/800]", "Iter(test) [50/87]"
PROGRESS = re.compile(r'Iter\((train|val|test)\) \[\s*(\d+)/(\d+)\]')
# The table's rows; `inherit` only where the DFD recipe initialises the student from the teacher (run_task).
MODELS = ('teacher', 'student alone', 'inherit', 'student + DFD', 'exported DFD student')
DIRS = dict(zip(MODELS, ('teacher', 'student', 'inherit', 'dfd', 'exported')))
TAIL = 30
PHASE_LOGS = ('train.log', 'export.log', 'eval.log', 'attention.log', 'latency.log')  # one per phase, in its dir


class PhaseFailed(RuntimeError):
    pass


class Phases:
    """Runs the demo's steps as subprocesses, one progress bar each (rich, which mmengine already installs)."""

    def __init__(self, verbose: bool) -> None:
        from rich.console import Console
        self.console = Console(highlight=False)
        self.verbose = verbose

    def progress(self):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        return Progress(TextColumn('{task.description:<34}'), BarColumn(bar_width=30), MofNCompleteColumn(),
                        TextColumn('elapsed'), TimeElapsedColumn(), TextColumn('eta'), TimeRemainingColumn(),
                        console=self.console)

    def note(self, text: str) -> None:
        self.console.print(text, markup=False, soft_wrap=True)

    def run(self, label: str, args: List[str], log: str, env: Dict[str, str], kind: str = 'train') -> float:
        """Run ``python ARGS`` with its output in ``log``; the bar follows mmengine's ``Iter(kind)`` lines."""
        os.makedirs(osp.dirname(log), exist_ok=True)
        start = time.time()
        tail = collections.deque(maxlen=TAIL)
        with self.progress() as bar, open(log, 'w') as f:
            task = bar.add_task(label, total=None)
            f.write('$ python ' + ' '.join(args) + '\n')
            proc = subprocess.Popen([sys.executable] + args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, bufsize=1)
            for line in proc.stdout:
                f.write(line)
                tail.append(line.rstrip('\n'))
                if self.verbose:
                    bar.console.print(line.rstrip('\n'), markup=False, highlight=False, soft_wrap=True)
                m = PROGRESS.search(line)
                if m and m.group(1) == kind:
                    bar.update(task, completed=int(m.group(2)), total=int(m.group(3)))
            code = proc.wait()
            if code == 0:
                done = bar.tasks[0].total or 1
                bar.update(task, total=done, completed=done)
        if code != 0:
            self.note(f'--- the last {len(tail)} lines of {log} ---')
            self.note('\n'.join(tail))
            raise PhaseFailed(f'demo: {label} failed (exit status {code}); its log: {log}')
        return time.time() - start


def count_parameters(recipe_path: str) -> int:
    """Parameters (not buffers) of the model a plain recipe builds, counted on the built model."""
    import dfd_razor  # noqa: F401  (custom_imports, registries)
    from mmengine.config import Config
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmengine.registry import DefaultScope, init_default_scope
    cfg = Config.fromfile(osp.join(REPO, recipe_path))
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    with DefaultScope.overwrite_default_scope(scope):
        model = ROOT_MODELS.build(cfg.model)
    return sum(p.numel() for p in model.parameters())


def inherited_parts(recipe_path: str) -> List[str]:
    """The student modules a distillation recipe initialises from the teacher (``model.inherit_from_teacher``)."""
    from mmengine.config import Config
    return list(Config.fromfile(osp.join(REPO, recipe_path)).model.get('inherit_from_teacher') or [])


def measure_latency(name: str, teacher: str, student: str, root: str, env: Dict[str, str], phases: Phases) -> Dict:
    """Median milliseconds per image of the teacher and the student (benchmarks/latency.py: tensor forward in
    PyTorch eager, batch 1, a real evaluation image, the demo's thread count): ``teacher``, ``student``, ``threads``."""
    threads = int(env.get('OMP_NUM_THREADS') or 0) or os.cpu_count() or 1
    out = osp.join(root, 'latency.json')
    phases.run('latency: teacher and student', ['benchmarks/latency.py', '--task', name, '--runtimes', 'pytorch',
                                                '--threads', str(threads), '--repeats', '20', '--warmup', '3',
                                                '--teacher-ckpt', teacher, '--student-ckpt', student, '--json', out],
               osp.join(root, 'latency.log'), env, kind='none')
    rows = {r['model']: r['latency'][str(threads)]['median'] for r in json.load(open(out))['rows']}
    return dict(teacher=rows['teacher'], student=rows['student'], threads=threads)


def run_task(name: str, spec: Dict, work: str, env: Dict[str, str], extra: List[str], phases: Phases) -> Dict:
    """The demo of one task; returns its rows, timings and paths for the report."""
    root = osp.join(work, name)
    dirs = {m: osp.join(root, d) for m, d in DIRS.items()}
    timing: Dict[str, Optional[float]] = {}
    phases.note(f'\n[{name}] {spec["label"]}; work dir {root}')

    try:
        state = teacher_state(dirs['teacher'], schedule_length(recipe(spec, 'teacher'), extra[1:]),
                              recipe(spec, 'teacher'))
    except ValueError as e:  # the cache of another pair's teacher (the yolo task's before 2026-12-03)
        raise PhaseFailed(f'[{name}] {e}') from e
    record = osp.join(dirs['teacher'], 'demo_train_seconds.json')
    teacher, cached = state['finished'], bool(state['finished'])
    if cached:
        phases.note(f'[{name}] teacher: reusing {teacher}')
        timing['teacher'] = json.load(open(record))['seconds'] if osp.isfile(record) else None
    else:
        resume = ['--resume'] if state['partial'] else []
        label = f'resume the teacher ({osp.basename(state["partial"])})' if resume else 'train the teacher'
        timing['teacher'] = phases.run(label, ['tools/train.py', recipe(spec, 'teacher'), '--work-dir',
                                               dirs['teacher']] + resume + extra,
                                       osp.join(dirs['teacher'], 'train.log'), env)
        json.dump(dict(seconds=timing['teacher']), open(record, 'w'))
        teacher = last_checkpoint(dirs['teacher'])
    options = extra[1:]  # the --cfg-options of every run
    inherits = bool(inherited_parts(recipe(spec, 'dfd')))
    models = [m for m in MODELS if m != 'inherit' or inherits]
    weights = dfd_weight_options(spec)
    students = {'student alone': (recipe(spec, 'student'), options, 'the student alone'),
                'inherit': (recipe(spec, 'fitnet'), [f'model.teacher_ckpt={teacher}'] +
                            inherit_options(recipe(spec, 'fitnet')) + options, 'inherit (no feature loss)'),
                'student + DFD': (recipe(spec, 'dfd'), [f'model.teacher_ckpt={teacher}'] + weights + options,
                                  'the student with DFD')}
    metrics, checkpoints = {}, {}
    for model in (m for m in models if m in students):  # trained, then evaluated: dfd_razor_tools.run
        rec, opts, label = students[model]
        done = run_recipe(rec, dirs[model], opts, env, call=phase_call(phases, f'train {label}', f'evaluate: {model}'),
                          train_log=osp.join(dirs[model], 'train.log'), test_log=osp.join(dirs[model], 'eval.log'),
                          test_work_dir=osp.join(dirs[model], 'eval'),
                          metrics_file=osp.join(dirs[model], 'eval_metrics.json'))
        timing[model], checkpoints[model] = done.train_seconds, done.checkpoint
    student, dfd = checkpoints['student alone'], checkpoints['student + DFD']
    exported = osp.join(dirs['exported DFD student'], 'student.pth')
    phases.run('export the DFD student', ['tools/export_student.py', recipe(spec, 'dfd'), dfd, exported],
               osp.join(dirs['exported DFD student'], 'export.log'), env, kind='none')
    for model, rec, ckpt in (('teacher', recipe(spec, 'teacher'), teacher),
                             ('exported DFD student', recipe(spec, 'student'), exported)):
        test_recipe(rec, ckpt, osp.join(dirs[model], 'eval'), options, env, osp.join(dirs[model], 'eval_metrics.json'),
                    osp.join(dirs[model], 'eval.log'), phase_call(phases, '', f'evaluate: {model}'))
    for model in models:
        out = osp.join(dirs[model], 'eval_metrics.json')
        metrics[model] = {m: read_metric(out, m, s) for m, s in metric_columns(spec).items()}
    raw = {m: json.load(open(osp.join(dirs[m], 'eval_metrics.json')))['metrics']
           for m in ('student + DFD', 'exported DFD student')}
    if raw['student + DFD'] != raw['exported DFD student']:
        raise PhaseFailed(f'demo: the exported student scores {raw["exported DFD student"]}, the distilled one '
                          f'{raw["student + DFD"]}: the export lost something ({exported})')

    figure = osp.join(root, 'attention.png')
    fig = spec['figure']
    phases.run('attention figure (paper figure 1)',
               ['tools/attention_maps.py', recipe(spec, 'dfd'), '--val-index'] + [str(i) for i in fig['val_index']] +
               ['--checkpoint', dfd, '--before', student, '--figure', figure, '--level', str(fig['level']),
                '--title', f'{name}: teacher, student alone and student with DFD, level {fig["level"]}'] + extra,
               osp.join(root, 'attention.log'), env, kind='none')
    params = {m: count_parameters(recipe(spec, 'teacher' if m == 'teacher' else 'student')) for m in models}
    latency = measure_latency(name, teacher, dfd, root, env, phases)
    return dict(name=name, spec=spec, metrics=metrics, timing=timing, cached=cached, params=params, root=root,
                figure=figure, weights=weights, models=models, latency=latency)


def phase_call(phases: Phases, train_label: str, test_label: str) -> Call:
    """run_recipe's command runner for one model: each step a phase of the demo, with its progress bar."""
    def call(step: str, command: List[str], log: str, env: Dict[str, str]) -> None:
        assert command[0] == sys.executable, command  # one process: Phases.run starts the interpreter itself
        phases.run(train_label if step == 'train' else test_label, command[1:], log, env, kind=step)
    return call


def headers(spec: Dict) -> List[str]:
    split = 'val' if spec['held_out'] else 'training-set'
    return [f'{split} {METRIC_NAMES.get(m, m)}' for m in metric_columns(spec)]


def table(result: Dict) -> List[str]:
    spec, latency = result['spec'], result['latency']
    lines = ['| model | parameters | ' + ' | '.join(headers(spec)) + f' | {latency_header(latency)} | '
             'training minutes |',
             '| --- ' * (4 + len(metric_columns(spec))) + '|']
    for model in result['models']:
        seconds = result['timing'].get(model)
        minutes = '-' if model == 'exported DFD student' else ('?' if seconds is None else f'{seconds / 60:.1f}')
        if model == 'teacher' and result['cached']:
            minutes += ' (cached)'
        lines.append(f'| {model} | {result["params"][model] / 1e6:.2f} M | ' +
                     ' | '.join(f'{result["metrics"][model][m]:.1f}' for m in metric_columns(spec)) +
                     f' | {latency["teacher" if model == "teacher" else "student"]:.1f} | {minutes} |')
    return lines


def latency_header(latency: Dict) -> str:
    return f'latency, ms (batch 1, {latency["threads"]} thread{"s" if latency["threads"] > 1 else ""})'


def speed_line(result: Dict) -> str:
    """"student: x times faster than its teacher at y <metric>", for the report."""
    spec, latency = result['spec'], result['latency']
    metric = result['metrics']['student + DFD'][spec['metric']]
    return (f'**student: {latency["teacher"] / latency["student"]:.1f} times faster than its teacher at '
            f'{metric:.1f} {headers(spec)[0]}** ({latency["student"]:.1f} vs {latency["teacher"]:.1f} ms per image: '
            f'backbone to head outputs in PyTorch eager, batch 1, {latency["threads"]} thread'
            f'{"s" if latency["threads"] > 1 else ""}, an evaluation image; benchmarks/latency.py). The student in ONNX '
            '(`tools/export_student.py RECIPE CKPT OUT.onnx --onnx`) and its ONNX Runtime latency: '
            'benchmarks/latency.md.')


def bar_chart(result: Dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    spec, models = result['spec'], [m for m in result['models'] if m != 'exported DFD student']
    colours = {'teacher': '#4c72b0', 'student alone': '#999999', 'inherit': '#8c8c5a', 'student + DFD': '#dd8452'}
    cols = list(metric_columns(spec))
    fig, ax = plt.subplots(figsize=(1.6 + 1.9 * len(cols), 3.0))
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        values = [result['metrics'][model][m] for m in cols]
        xs = [j + (i - (len(models) - 1) / 2) * width for j in range(len(cols))]
        ax.bar(xs, values, width, label=model, color=colours[model])
        for x, v in zip(xs, values):
            ax.text(x, v, f'{v:.1f}', ha='center', va='bottom', fontsize=7)
    ax.set_xticks(range(len(cols)), headers(spec))
    ax.set_title(f'{result["name"]}: ' + ('the val split, held out' if spec['held_out'] else 'the training images'),
                 fontsize=9)
    ax.legend(fontsize=7, loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(result: Dict, command: str) -> str:
    spec, root = result['spec'], result['root']
    chart = osp.join(root, 'metrics.png')
    bar_chart(result, chart)
    split = ('the val split, which no model trained on' if spec['held_out'] else
             'the training images (a from-scratch model on this little data scores 0 on held-out images)')
    inherited = inherited_parts(recipe(spec, 'dfd'))
    inherit = (f' The DFD student starts from the teacher\'s {" and ".join(inherited)} (the inheriting strategy of '
               'the paper\'s detection recipes), so part of its gain over the student alone comes from that '
               'initialisation, not from the feature loss: the `inherit` row is that initialisation without any '
               'feature loss (the FitNet recipe at weight 0, the same schedule; the `inherit` control of '
               f'benchmarks/{spec.get("benchmark", "bccd")}.md), the gain of the loss itself is `student + DFD` '
               'minus `inherit`.' if inherited else '')
    picked = benchmark_has_picked(spec)
    weight = (f'DFD runs at {spec["dfd_factor"]}x its recipe\'s alpha and beta, the factor the held-out benchmark '
              f'picked on val (benchmarks/{spec["benchmark"]}.md): `{" ".join(result["weights"])}`'
              if result['weights'] else "DFD runs at its recipe's weights" +
              (f', the factor (x1) the held-out benchmark picked on val (benchmarks/{spec["benchmark"]}.md)'
               if picked else f' (the held-out benchmark, benchmarks/{spec["benchmark"]}.md, has not picked a weight '
               'for this pair yet)' if spec.get('benchmark') else ''))
    lines = [f'# dfd-razor demo: {result["name"]}', '', f'`{command.strip()}`', '',
             f'{spec["label"]}. Scored on {split}. Teacher `{recipe(spec, "teacher")}`, student '
             f'`{recipe(spec, "student")}`, distilled with `{recipe(spec, "dfd")}`; {weight}. The student alone and '
             'the student with DFD share recipe, seed and schedule. The exported DFD student '
             '(tools/export_student.py) is evaluated by the plain student recipe and scores what the distilled one '
             'does.' + inherit, ''] + table(result) + [
             '', speed_line(result), '', '![metrics](metrics.png)', '', '![attention](attention.png)', '',
             'The attention figure follows the paper\'s figure 1 on two evaluation images: the spatial attention of the '
             'teacher, of the student alone and of the student with DFD (one colour scale per row), the disparity '
             '|A(F_T) - A(F_S)| for both students (one colour scale), and the HD mask DFD used at the end, '
             'ground-truth boxes drawn.', '',
             'Each phase\'s log is in this folder: ' + ', '.join(
                 f'`{osp.relpath(osp.join(root, dirpath, f), root)}`' for dirpath, _, files in sorted(os.walk(root))
                 for f in sorted(files) if f in PHASE_LOGS) + '.']
    path = osp.join(root, 'report.md')
    open(path, 'w').write('\n'.join(lines) + '\n')
    return path


def selected_tasks(task: str) -> List[str]:
    """The demo tasks ``--task`` runs, in order: every one of DEMO_TASKS for ``all``, else the one named.

    Raises:
        ValueError: ``task`` names a benchmark pair (no figure) or nothing; the message names the demo tasks.
    """
    if task == 'all':
        return list(DEMO_TASKS)
    if task not in TASKS:
        raise ValueError(f'--task {task} is not a task; the demo tasks are {", ".join(DEMO_TASKS)}')
    if 'figure' not in TASKS[task]:
        raise ValueError(f'--task {task} is a benchmark pair (tools/benchmark.py --preset {task}); the demo '
                         f'tasks are {", ".join(DEMO_TASKS)}')
    return [task]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=sorted(TASKS) + ['all'], default='det')
    parser.add_argument('--data-root', help='folder holding bccd/, camvid/, tiny_coco/, pose_minicoco/')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--verbose', action='store_true', help='show the mmengine logs live')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='passed to every training and evaluation run')
    args = parser.parse_args()
    args.work_dir = osp.abspath(args.work_dir)  # the phases run in the repository
    try:
        tasks = selected_tasks(args.task)
    except ValueError as e:
        parser.error(str(e))
    data_root = resolve_data_root(sorted({d for t in tasks for d in TASKS[t]['data']}), args.data_root)
    phases = Phases(args.verbose)
    phases.note(f'data root: {data_root}')
    env = dict(os.environ, DFD_DATA_ROOT=data_root)
    extra = ['--cfg-options'] + args.cfg_options if args.cfg_options else []
    command = 'python tools/demo.py ' + ' '.join(sys.argv[1:])
    start = time.time()
    results = []
    try:
        for t in tasks:
            result = run_task(t, TASKS[t], args.work_dir, env, extra, phases)
            result['report'] = write_report(result, command)
            results.append(result)
    except PhaseFailed as e:
        phases.note(str(e))
        raise SystemExit(1)
    for result in results:
        phases.note(f'\n## {result["name"]}: {result["spec"]["label"]}\n')
        phases.note('\n'.join(table(result)))
        phases.note(f'\nreport: {result["report"]}')
    phases.note(f'\ntotal {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
