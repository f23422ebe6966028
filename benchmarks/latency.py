"""What the student buys in speed: a CPU pair's teacher, student and ONNX student on this machine's CPU.

Per model: parameters, GFLOPs of one image (``torch.utils.flop_counter``: convolutions and matrix products), and the
latency of the tensor forward (backbone, neck, head raw outputs; the post-processing, NMS included, is not timed:
it is the model's own Python code in every runtime) at batch 1 on a real image of the task's evaluation split, in
PyTorch eager and in ONNX Runtime (the graph of ``tools/export_student.py --onnx``), with 1 and 2 threads: the
median of ``--repeats`` timed calls after ``--warmup`` untimed ones, with the interquartile range and the extremes.
The teacher is exported and timed in ONNX Runtime too, so that every speed-up compares like with like.

    python benchmarks/latency.py [--task det ...] [--teacher-ckpt [TASK=]CKPT ...] [--student-ckpt [TASK=]CKPT ...]
        [--score] [--models teacher student] [--runtimes pytorch onnxruntime] [--threads 1 2] [--repeats 30]
        [--warmup 5] [--out benchmarks/latency.md] [--json FILE]

``--task`` is a CPU pair of ``dfd_razor_tools.cpu_pairs`` (det, seg, yolo, pose, bccd, camvid; several allowed).
Without checkpoints the models have the random weights of their recipes: latency and FLOPs depend on the
architecture and the input size, not on the weights. ``--student-ckpt`` (a distillation checkpoint, or a plain one
of the student recipe) and ``--teacher-ckpt`` load weights (``TASK=CKPT`` with several tasks); with ``--score`` each
student given a checkpoint is scored on the task's whole evaluation split in PyTorch and through ONNX Runtime (the
model's own post-processing, ``dfd_razor_tools.onnx_export.score``). Every exported graph's parity (max absolute
difference of its raw outputs to PyTorch's on two evaluation images) is reported. ``tools/demo.py`` runs it
(``--runtimes pytorch --json``) for its report's latency column.
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

# dfd_razor_tools lives in the checkout: the environment tools/install.sh builds has it on the path (a .pth file)
from dfd_razor_tools.paths import absolute

RUNTIMES = {'pytorch': 'PyTorch eager', 'onnxruntime': 'ONNX Runtime'}


def build_model(recipe_path: str, checkpoint: Optional[str] = None) -> Tuple[nn.Module, Any]:
    """The plain model of a teacher or student recipe (path from the repository root or absolute), in eval mode,
    with the weights of ``checkpoint`` when given (a distillation checkpoint gives its student's,
    :func:`dfd_razor.checkpoint.student_state_dict`; a plain one is taken whole), else its recipe's random ones.

    Returns:
        tuple: The model and its config.
    """
    import dfd_razor  # noqa: F401  (registries, compatibility fixes)
    from dfd_razor.checkpoint import load_state_strictly, student_state_dict
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(absolute(recipe_path))
    if 'architecture' in cfg.model:
        raise ValueError(f'{recipe_path} is a distillation recipe; give the plain teacher or student recipe')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_state_strictly(model, student_state_dict(checkpoint), checkpoint, f'checkpoint of {recipe_path}')
    else:
        model.init_weights()
    return model.eval(), cfg


def example_input(cfg: Any, model: nn.Module) -> torch.Tensor:
    """One real image of the recipe's evaluation split, preprocessed as the model sees it (1 x 3 x H x W)."""
    from dfd_razor_tools.onnx_export import real_batch
    return real_batch(cfg, model, 1)['inputs']


def count_gflops(model: nn.Module, inputs: torch.Tensor) -> float:
    """GFLOPs of the tensor forward on ``inputs`` (``torch.utils.flop_counter``; a multiply-add counts 2)."""
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model._forward(inputs)
    return counter.get_total_flops() / 1e9


def count_parameters(model: nn.Module) -> int:
    """Parameters (not buffers) of a model."""
    return sum(p.numel() for p in model.parameters())


def time_calls(call: Callable[[], Any], repeats: int, warmup: int) -> List[float]:
    """Seconds of each of ``repeats`` calls of ``call``, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def summary(times: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles and extremes of ``times`` (seconds), in milliseconds."""
    ms = sorted(t * 1000 for t in times)
    q1, q3 = (statistics.quantiles(ms, n=4)[0], statistics.quantiles(ms, n=4)[2]) if len(ms) > 1 else (ms[0], ms[0])
    return dict(median=statistics.median(ms), q1=q1, q3=q3, min=ms[0], max=ms[-1], n=len(ms))


def pytorch_latency(model: nn.Module, inputs: torch.Tensor, threads: int, repeats: int,
                    warmup: int) -> Dict[str, float]:
    """:func:`summary` of the model's tensor forward in PyTorch eager with ``threads`` intra-op threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            return summary(time_calls(lambda: model._forward(inputs), repeats, warmup))
    finally:
        torch.set_num_threads(before)


def onnxruntime_latency(onnx_path: str, inputs: torch.Tensor, threads: int, repeats: int,
                        warmup: int) -> Dict[str, float]:
    """:func:`summary` of the exported graph in ONNX Runtime with ``threads`` intra-op threads (one session each)."""
    from dfd_razor_tools.onnx_export import OnnxStudent
    session = OnnxStudent(onnx_path, threads=threads).session
    feed = {'input': inputs.numpy()}
    return summary(time_calls(lambda: session.run(None, feed), repeats, warmup))


def export(model: nn.Module, cfg: Any, inputs: torch.Tensor, path: str, recipe_path: str) -> str:
    """The model's tensor forward to ONNX at ``path`` (:func:`dfd_razor_tools.onnx_export.export_onnx`)."""
    from dfd_razor_tools import onnx_export
    metadata = dict(onnx_export.preprocessing_metadata(cfg), model=type(model).__name__,
                    scope=cfg.get('default_scope', 'mmdet'), recipe=recipe_path, checkpoint=None)
    onnx_export.export_onnx(model, inputs, path, metadata)
    return path


def measure(task: str, models: Sequence[str] = ('teacher', 'student'),
            runtimes: Sequence[str] = ('pytorch', 'onnxruntime'), threads: Sequence[int] = (1, 2), repeats: int = 30,
            warmup: int = 5, checkpoints: Optional[Dict[str, str]] = None, score: bool = False,
            work_dir: Optional[str] = None) -> List[Dict[str, Any]]:
    """One row per model and runtime of a CPU pair (``dfd_razor_tools.cpu_pairs.TASKS[task]``).

    Returns:
        list[dict]: ``task``, ``model`` (teacher / student), ``runtime``, ``recipe``, ``params``, ``gflops``,
        ``input`` (the image shape), ``latency`` ({threads: :func:`summary`}), ``parity`` (max |ONNX Runtime -
        PyTorch| over the raw outputs of 2 real images, batch 2, when exported) and, with ``score``, ``metrics``
        of the student (PyTorch and ONNX Runtime rows).
    """
    from dfd_razor_tools import onnx_export
    from dfd_razor_tools.cpu_pairs import TASKS, recipe
    spec = TASKS[task]
    checkpoints = checkpoints or {}
    rows: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = work_dir or tmp
        for which in models:
            recipe_path = recipe(spec, which)
            model, cfg = build_model(recipe_path, checkpoints.get(which))
            inputs = example_input(cfg, model)
            params, gflops = count_parameters(model), count_gflops(model, inputs)
            onnx_path = osp.join(work_dir, f'{task}_{which}.onnx')
            metrics, parity = {}, None
            if 'onnxruntime' in runtimes:
                export(model, cfg, inputs, onnx_path, recipe_path)
                graph = onnx_export.OnnxStudent(onnx_path)
                parity = onnx_export.max_abs_difference(model, graph, onnx_export.real_batch(cfg, model, 2)['inputs'])
                if score and which == 'student':
                    metrics = onnx_export.score(cfg, model, graph, None, osp.join(work_dir, 'score'))
            for runtime in runtimes:
                latency = {}
                for n in threads:
                    latency[n] = (pytorch_latency(model, inputs, n, repeats, warmup) if runtime == 'pytorch' else
                                  onnxruntime_latency(onnx_path, inputs, n, repeats, warmup))
                rows.append(dict(task=task, model=which, runtime=runtime, recipe=recipe_path, params=params,
                                 scope=cfg.get('default_scope', 'mmdet'), gflops=gflops, input=list(inputs.shape),
                                 latency=latency,
                                 checkpoint=checkpoints.get(which), metrics=metrics.get(runtime, {}),
                                 parity=parity))
    return rows


def speedups(rows: Sequence[Dict[str, Any]]) -> List[str]:
    """One line per task, runtime and thread count: how many times faster the student runs than its teacher."""
    lines = []
    index = {(r['task'], r['model'], r['runtime']): r for r in rows}
    for (task, model, runtime), row in index.items():
        teacher = index.get((task, 'teacher', runtime))
        if model != 'student' or teacher is None:
            continue
        for n, lat in row['latency'].items():
            ratio = teacher['latency'][n]['median'] / lat['median']
            lines.append(f'{task}, {RUNTIMES[runtime]}, {n} thread{"s" if int(n) > 1 else ""}: the student runs '
                         f'{ratio:.2f} times faster than its teacher ({lat["median"]:.1f} vs '
                         f'{teacher["latency"][n]["median"]:.1f} ms)')
    student_torch = {(r['task'], n): lat['median'] for r in rows if r['model'] == 'student' and
                     r['runtime'] == 'pytorch' for n, lat in r['latency'].items()}
    for r in rows:
        if r['model'] == 'student' and r['runtime'] == 'onnxruntime':
            for n, lat in r['latency'].items():
                if (r['task'], n) in student_torch:
                    lines.append(f'{r["task"]}, {n} thread{"s" if int(n) > 1 else ""}: ONNX Runtime runs the student '
                                 f'{student_torch[(r["task"], n)] / lat["median"]:.2f} times as fast as PyTorch eager')
    return lines


def markdown(rows: Sequence[Dict[str, Any]]) -> List[str]:
    """The table: one row per task, model and runtime; a latency column per thread count."""
    threads = sorted({int(n) for r in rows for n in r['latency']})
    head = (['task', 'model', 'runtime', 'input', 'parameters', 'GFLOPs'] +
            [f'{n} thread{"s" if n > 1 else ""}: median ms (IQR; min-max)' for n in threads])
    lines = ['| ' + ' | '.join(head) + ' |', '| ' + ' | '.join('---' for _ in head) + ' |']
    for r in rows:
        cells = [r['task'], r['model'], RUNTIMES[r['runtime']], 'x'.join(str(d) for d in r['input'][-2:]),
                 f'{r["params"] / 1e6:.2f} M', f'{r["gflops"]:.2f}']
        for n in threads:
            lat = r['latency'].get(n) or r['latency'].get(str(n))
            cells.append('-' if lat is None else
                         f'{lat["median"]:.1f} ({lat["q1"]:.1f}-{lat["q3"]:.1f}; {lat["min"]:.1f}-{lat["max"]:.1f})')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def weights(row: Dict[str, Any]) -> str:
    """Where a row's weights come from."""
    return f'`{row["checkpoint"]}`' if row['checkpoint'] else "the recipe's random initialisation"


def cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else the machine type."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def parity_lines(rows: Sequence[Dict[str, Any]]) -> List[str]:
    """The exported models' parity and, where scored, the student's metrics in PyTorch and ONNX Runtime."""
    from dfd_razor_tools.onnx_export import PERCENT
    lines = [f'- {r["task"]} {r["model"]} ({weights(r)}): max |ONNX Runtime - PyTorch| = {r["parity"]:.2g} over the '
             'raw outputs of 2 evaluation images (batch 2)'
             for r in rows if r['runtime'] == 'onnxruntime' and r['parity'] is not None]
    scored = [(r, o) for r in rows for o in rows if r['model'] == o['model'] == 'student' and r['task'] == o['task']
              and r['runtime'] == 'pytorch' and o['runtime'] == 'onnxruntime' and r['metrics']]
    if scored:
        lines += ['', '| task | student checkpoint | metric (whole evaluation split) | PyTorch | ONNX Runtime | '
                  'difference (percent points) |', '| --- | --- | --- | --- | --- | --- |']
    for r, o in scored:
        scale = PERCENT.get(r['scope'], 1)
        for key, value in r['metrics'].items():
            lines.append(f'| {r["task"]} | `{r["checkpoint"]}` | {key} | {value * scale:.2f} | '
                         f'{o["metrics"].get(key, float("nan")) * scale:.2f} | '
                         f'{abs(o["metrics"].get(key, float("nan")) - value) * scale:.2f} |')
    return lines


def task_paths(values: Sequence[str], tasks: Sequence[str], option: str) -> Dict[str, str]:
    """``[TASK=]PATH`` values of a checkpoint option, by task (a bare PATH needs exactly one task)."""
    out = {}
    for value in values:
        task, sep, path = value.partition('=')
        if not sep:
            if len(tasks) != 1:
                raise SystemExit(f'{option} {value}: with several --task, write TASK=PATH')
            task, path = tasks[0], value
        if task not in tasks:
            raise SystemExit(f'{option} {value}: {task} is not one of --task {" ".join(tasks)}')
        if not osp.isfile(path):
            raise SystemExit(f'{option} {value}: checkpoint file not found: {path}')
        out[task] = path
    return out


def main(argv: Optional[Sequence[str]] = None) -> None:
    from dfd_razor_tools.cpu_pairs import TASKS
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', nargs='+', choices=sorted(TASKS), default=['det'])
    parser.add_argument('--models', nargs='+', choices=['teacher', 'student'], default=['teacher', 'student'])
    parser.add_argument('--runtimes', nargs='+', choices=sorted(RUNTIMES), default=['pytorch', 'onnxruntime'])
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--repeats', type=int, default=30, help='timed calls per model, runtime and thread count')
    parser.add_argument('--warmup', type=int, default=5, help='untimed calls first')
    parser.add_argument('--teacher-ckpt', nargs='+', default=[], metavar='[TASK=]CKPT', help='teacher weights')
    parser.add_argument('--student-ckpt', nargs='+', default=[], metavar='[TASK=]CKPT',
                        help='student weights: a distillation checkpoint or a plain one of the student recipe')
    parser.add_argument('--score', action='store_true', help="score each student given by --student-ckpt in "
                        'PyTorch and through ONNX Runtime on the whole evaluation split')
    parser.add_argument('--out', help='markdown file for the results (default: print only)')
    parser.add_argument('--json', help='the rows as JSON')
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or min(args.threads) < 1:
        parser.error('--repeats >= 1, --warmup >= 0 and --threads >= 1')
    if args.score and ('onnxruntime' not in args.runtimes or not args.student_ckpt):
        parser.error('--score needs --student-ckpt and the onnxruntime runtime')
    teachers = task_paths(args.teacher_ckpt, args.task, '--teacher-ckpt')
    students = task_paths(args.student_ckpt, args.task, '--student-ckpt')
    versions = f'Python {platform.python_version()}, torch {torch.__version__}'
    if 'onnxruntime' in args.runtimes:
        from dfd_razor_tools.onnx_export import require_onnx
        require_onnx()
        import onnxruntime
        versions += f', ONNX Runtime {onnxruntime.__version__}'
    import logging

    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # init_weights reports every tensor otherwise
    rows = []
    for task in args.task:
        checkpoints = {k: v for k, v in (('teacher', teachers.get(task)), ('student', students.get(task))) if v}
        rows += measure(task, args.models, args.runtimes, args.threads, args.repeats, args.warmup, checkpoints,
                        args.score and task in students)
    command = 'python benchmarks/latency.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    context = (f'{time.strftime("%Y-%m-%d")}, {cpu_name()}, {os.cpu_count()} cores, {versions}; '
               f'batch 1, {args.repeats} timed calls after {args.warmup} warm-up calls per cell')
    lines = ['# Latency: teacher, student and ONNX student on the CPU', '',
             ' '.join(__doc__.split('\n\n')[1].split()), '', f'`{command}`', '', f'Measured {context}.', '']
    given = sorted({f'{r["task"]} {r["model"]}: `{r["checkpoint"]}`' for r in rows if r['checkpoint']})
    lines += [f'Weights: {"; ".join(given) if given else "none given"}; the other models have their recipe\'s '
              'random initialisation (latency and FLOPs depend on the architecture and the input, not on the '
              'weights).', '']
    lines += markdown(rows) + [''] + [f'- {s}' for s in speedups(rows)]
    if any(r['parity'] is not None for r in rows):
        lines += ['', '## ONNX Runtime vs PyTorch', ''] + parity_lines(rows)
    print('\n'.join(lines))
    if args.out:
        with open(args.out, 'w') as f:
            f.write('\n'.join(lines) + '\n')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(context=context, command=command, rows=rows), f, indent=1)


if __name__ == '__main__':
    main()
