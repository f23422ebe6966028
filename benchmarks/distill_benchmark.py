"""DFD against the student alone, FitNet-style MSE, PKD, MGD and CWD on the CPU recipes, over several seeds.

    python benchmarks/distill_benchmark.py --task det [--seeds 0 1 2] [--iters N] [--data-root DIR]

For the task's CPU pair (recipes/cpu_demo): the teacher is trained once (or reused from work_dirs/demo/<task>, the
demo's cache), then every method trains the same student from the same initialisation seed, data and schedule,
and is evaluated with the task's metric on the validation split. Writes benchmarks/<task>.md: metric mean ± std
over the seeds, seconds per training iteration (median over the run's logged iterations) and peak resident memory
of the training process, and the exact command.
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Tuple

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from dfd_razor.data import resolve_data_root  # noqa: E402
from dfd_razor.demo_tasks import TASKS, read_metric, recipe  # noqa: E402

# What the benchmark adds to the demo tasks (dfd_razor.demo_tasks): how --iters scales the learning-rate schedule,
# and which rows apply.
BENCH = {
    'det': dict(short=lambda n: [f'param_scheduler.1.milestones=[{int(n * 0.75)},{int(n * 0.92)}]'],
                methods=['student', 'inherit', 'fitnet', 'pkd', 'mgd', 'cwd', 'dfd']),
    'seg': dict(short=lambda n: [f'param_scheduler.0.end={n}'],
                methods=['student', 'fitnet', 'pkd', 'mgd', 'cwd', 'dfd']),  # no inheriting strategy: no `inherit`
}
# What each row is. `inherit` separates the inheriting strategy from the distillation loss where a pair uses it
# (detection: the distilled students start from the teacher's neck and head, the plain student from scratch): the
# FitNet recipe with its loss weight set to 0, i.e. the same initialisation and training without any feature loss.
LEGEND = {
    'student': 'the student recipe alone, from scratch',
    'inherit': 'the distillation recipe\'s initialisation (inheriting strategy), no feature loss',
    'fitnet': 'MSE on all positions (configs/methods/fitnet.py)',
    'pkd': 'PKD', 'mgd': 'MGD', 'cwd': 'CWD', 'dfd': 'DFD',
}
METHODS = list(LEGEND)
NO_LOSS = ['model.distiller.levels.loss.alpha=0']


def run(args: List[str], env: Dict[str, str], log: str) -> int:
    """Run a tool, its output to ``log``; returns the peak resident set size of the process in bytes."""
    with open(log, 'w') as f:
        proc = subprocess.Popen([sys.executable] + args, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f'benchmark: failed ({proc.returncode}), see {log}: {" ".join(args)}')
    return usage.ru_maxrss * 1024


def seconds_per_iter(work_dir: str) -> float:
    times = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        for line in open(path):
            rec = json.loads(line)
            if 'loss' in rec and 'time' in rec:
                times.append(rec['time'])
    return statistics.median(times[1:] or times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=sorted(BENCH), required=True)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--methods', nargs='+', choices=METHODS, help='default: all that apply to the task')
    parser.add_argument('--iters', type=int, help='student training iterations (default: the recipe\'s schedule)')
    parser.add_argument('--data-root')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'benchmark'))
    parser.add_argument('--out', help='markdown file (default: benchmarks/<task>.md)')
    args = parser.parse_args()
    task, bench = TASKS[args.task], BENCH[args.task]
    args.methods = args.methods or bench['methods']
    env = dict(os.environ, DFD_DATA_ROOT=resolve_data_root(task['data'], args.data_root))
    work = osp.join(REPO, args.work_dir, args.task)
    os.makedirs(work, exist_ok=True)
    start = time.time()

    teacher_dir = osp.join(REPO, 'work_dirs', 'demo', args.task, 'teacher')
    last = osp.join(teacher_dir, 'last_checkpoint')
    if not osp.isfile(last):
        print('training the teacher', flush=True)
        run(['tools/train.py', recipe(task, 'teacher'), '--work-dir', teacher_dir], env,
            osp.join(work, 'teacher.log'))
    teacher = open(last).read().strip()
    out = osp.join(work, 'teacher_metrics.json')
    run(['tools/test.py', recipe(task, 'teacher'), teacher, '--work-dir', work,
         '--out-metrics', out], env, osp.join(work, 'teacher_test.log'))
    teacher_metric = read_metric(out, task['metric'], task['scale'])

    schedule = []
    if args.iters:
        schedule = [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
                    f'default_hooks.checkpoint.interval={args.iters}']
        schedule += bench['short'](args.iters)  # the learning-rate schedule scaled to the shorter run
    results: Dict[str, List[Tuple[float, float, int]]] = {}
    reused = 0
    for method in args.methods:
        for seed in args.seeds:
            run_dir = osp.join(work, f'{method}_seed{seed}')
            options = schedule + [f'randomness.seed={seed}'] + (NO_LOSS if method == 'inherit' else [])
            if method != 'student':
                options.append(f'model.teacher_ckpt={teacher}')
            done = osp.join(run_dir, 'benchmark_result.json')
            if osp.isfile(done):  # a finished run of the same settings (re-running resumes an interrupted benchmark)
                record = json.load(open(done))
                if record['options'] == options:  # teacher checkpoint, seed, schedule
                    results.setdefault(method, []).append(tuple(record['result']))
                    reused += 1
                    print(f'[{time.time() - start:6.0f}s] {method} seed {seed}: reusing {done}', flush=True)
                    continue
            print(f'[{time.time() - start:6.0f}s] {method} seed {seed}', flush=True)
            method_recipe = recipe(task, 'fitnet' if method == 'inherit' else method)
            peak = run(['tools/train.py', method_recipe, '--work-dir', run_dir, '--cfg-options'] + options,
                       env, osp.join(run_dir + '.log'))
            ckpt = open(osp.join(run_dir, 'last_checkpoint')).read().strip()
            metrics = osp.join(run_dir, 'test_metrics.json')
            run(['tools/test.py', method_recipe, ckpt, '--work-dir', run_dir, '--out-metrics', metrics],
                env, run_dir + '_test.log')
            value = read_metric(metrics, task['metric'], task['scale'])
            result = (value, seconds_per_iter(run_dir), peak)
            results.setdefault(method, []).append(result)
            with open(done, 'w') as f:
                json.dump(dict(options=options, result=result), f)
            print(f'    {task["metric"]} {value:.2f}', flush=True)

    command = 'python benchmarks/distill_benchmark.py ' + ' '.join(sys.argv[1:])
    lines = [f'# CPU benchmark: {args.task}', '',
             f'Pair: `recipes/cpu_demo/*_{task["pair"]}.py`; teacher ({task["teacher"]}) {task["label"]}: '
             f'{teacher_metric:.2f}. Seeds {args.seeds}; {os.cpu_count()} CPU cores, '
             f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}; student schedule '
             f'{args.iters or "of the recipe"} iterations.', '',
             f'| method | {task["label"]}, mean ± std | per seed | s / iter | peak RSS (MiB) |',
             '| --- | --- | --- | --- | --- |']
    for method, rows in results.items():
        values = [r[0] for r in rows]
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        lines.append(f'| {method} | {statistics.mean(values):.2f} ± {std:.2f} | '
                     f'{", ".join(f"{v:.2f}" for v in values)} | {statistics.median(r[1] for r in rows):.3f} | '
                     f'{max(r[2] for r in rows) / 2**20:.0f} |')
    lines += [''] + [f'- {m}: {LEGEND[m]}' for m in results]
    lines += ['', f'Command: `{command}` ({time.time() - start:.0f} s'
              + (f'; {reused} runs reused from an earlier invocation with the same settings' if reused else '') + ').', '']
    path = args.out or osp.join(REPO, 'benchmarks', f'{args.task}.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
