"""tools/demo.py end to end on the real bundled data with a 2-iteration schedule, each task: teacher, student alone,
DFD student, evaluation on 8 images, export, table, report, chart and attention figure; the teacher cache; a failed
phase."""
import importlib.util
import json
import os
import os.path as osp
import re

import pytest
from PIL import Image
from tools_helpers import ROOT, run

# The demo's --cfg-options reach every training and evaluation run: 2 iterations, one checkpoint, no validation
# during training, 8 evaluation images.
TWO_ITERS = ['--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
             'default_hooks.checkpoint.interval=2', 'test_dataloader.dataset.indices=8']
HEADERS = {'det': ['val mAP', 'val mAP@0.5'], 'seg': ['val mIoU', 'val aAcc'],
           'yolo': ['val mAP', 'val mAP@0.5'], 'pose': ['training-set keypoint AP']}
MODELS = ['teacher', 'student alone', 'inherit', 'student + DFD', 'exported DFD student']
DIRS = dict(zip(MODELS, ('teacher', 'student', 'inherit', 'dfd', 'exported')))
# The inherit row (the student initialised from the teacher, no feature loss) where the DFD recipe inherits: det.
ROWS = {task: [m for m in MODELS if m != 'inherit' or task == 'det'] for task in HEADERS}
KEYS = {'det': ('coco/bbox_mAP', 100), 'seg': ('mIoU', 1), 'yolo': ('coco/bbox_mAP', 100), 'pose': ('coco/AP', 100)}


def tables(out):
    """task -> (header cells, {model: row cells}) from the demo's printed tables."""
    found = {}
    for task, body in re.findall(r'^## (\w+): .*?\n\n((?:\|.*\n)+)', out, re.M):
        rows = [[c.strip() for c in line.strip().strip('|').split('|')] for line in body.strip().splitlines()]
        found[task] = (rows[0], {r[0]: r[1:] for r in rows[2:]})
    return found


def png_size(path):
    assert open(path, 'rb').read(8) == b'\x89PNG\r\n\x1a\n', path
    return Image.open(path).size


def _load_demo():
    spec = importlib.util.spec_from_file_location('demo_tool', osp.join(ROOT, 'tools', 'demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_task_all_runs_every_demo_task_and_refuses_benchmark_pairs():
    """``--task all`` is the four demo tasks, each of which the end-to-end test below runs on its own."""
    demo = _load_demo()
    assert demo.selected_tasks('all') == sorted(HEADERS)
    assert all(demo.selected_tasks(task) == [task] for task in HEADERS)
    with pytest.raises(ValueError, match=r'--task bccd is a benchmark pair \(tools/benchmark.py --preset bccd\); '
                                         r'the demo tasks are det, pose, seg, yolo'):
        demo.selected_tasks('bccd')
    with pytest.raises(ValueError, match='--task nope is not a task'):
        demo.selected_tasks('nope')


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(HEADERS))
def test_demo_task_end_to_end(task, tmp_path):
    """One demo task end to end; the pose task then runs again and reuses its teacher."""
    work = str(tmp_path / 'demo')
    out = run(['tools/demo.py', '--task', task, '--work-dir', work] + TWO_ITERS, timeout=1800).stdout
    found = tables(out)
    assert sorted(found) == [task], out[-3000:]
    headers = HEADERS[task]
    header, rows = found[task]
    assert header[:-2] == ['model', 'parameters'] + headers and header[-1] == 'training minutes'
    assert header[-2].startswith('latency, ms (batch 1, ')
    assert list(rows) == ROWS[task]
    root = osp.join(work, task)
    metrics = {m: json.load(open(osp.join(root, DIRS[m], 'eval_metrics.json')))['metrics'] for m in ROWS[task]}
    # The exported student, loaded natively by the plain student recipe, scores exactly what the distilled one did.
    assert metrics['exported DFD student'] == metrics['student + DFD'], task
    key, scale = KEYS[task]
    for model in ROWS[task]:  # the table shows what the evaluations wrote (no detections at 2 iterations: 0)
        assert float(rows[model][1]) == round(metrics[model].get(key, 0.0) * scale, 1), (task, model)
    # parameters: the students share an architecture, smaller than the teacher's
    params = {m: float(rows[m][0].rstrip(' M')) for m in ROWS[task]}
    assert len({params[m] for m in ROWS[task][1:]}) == 1 and params['student alone'] < params['teacher']
    assert all(float(rows[m][-1]) > 0 for m in ROWS[task][:-1])  # training minutes of a fresh run
    # latency (benchmarks/latency.py): one measured student network, faster than its teacher
    latency = {m: float(rows[m][-2]) for m in ROWS[task]}
    assert len({latency[m] for m in ROWS[task][1:]}) == 1 and 0 < latency['student alone'] < latency['teacher']
    for name in [DIRS[m] for m in ROWS[task][:-1]]:
        ckpt = open(osp.join(root, name, 'last_checkpoint')).read().strip()
        assert ckpt.endswith('iter_2.pth') and osp.isfile(ckpt)
    report = open(osp.join(root, 'report.md')).read()
    assert '| model | parameters | ' + ' | '.join(headers) in report
    assert '![metrics](metrics.png)' in report and '![attention](attention.png)' in report
    assert 'train.log' in report and 'eval.log' in report and 'latency.log' in report
    ratio = float(re.search(r'\*\*student: ([\d.]+) times faster than its teacher at ', report).group(1))
    assert ratio == pytest.approx(latency['teacher'] / latency['student alone'], abs=0.1)
    assert png_size(osp.join(root, 'metrics.png'))[0] > 200
    width, height = png_size(osp.join(root, 'attention.png'))
    assert width > 800 and height > 200  # 7 panels a row, 2 images
    held_out = task in ('det', 'seg', 'yolo')
    assert ('the val split, which no model trained on' in report) == held_out
    assert ('the training images' in report) != held_out
    assert out.count('train the teacher') == 1 and 'teacher: reusing' not in out
    if task == 'det':
        assert 'model.distiller.levels.loss.alpha=0.00028' in report  # the benchmark's pick, 10x the recipe
        assert "starts from the teacher's neck and bbox_head" in report  # the gain is not all the feature loss's
        assert 'the `inherit` row is that initialisation without any feature loss' in report
        inherit = json.load(open(osp.join(root, 'inherit', 'eval_metrics.json')))
        assert 'fitnet_fpn_retina-r18_retina-r18q_300i_bccd.py' in inherit['config']  # the FitNet recipe at weight 0
        assert 'model.distiller.levels.loss.alpha=0' in open(osp.join(root, 'inherit', 'train.log')).read()
    if task == 'seg':
        assert 'inheriting' not in report  # widths differ: nothing inherited
        assert "DFD runs at its recipe's weights, the factor (x1) the held-out benchmark picked on val" in report
    if task == 'yolo':
        from dfd_razor_tools.cpu_pairs import TASKS, benchmark_has_picked
        picked = benchmark_has_picked(TASKS['yolo'])
        assert ('the held-out benchmark picked on val (benchmarks/bccd_yolo.md)' in report) == picked
        assert ('(the held-out benchmark, benchmarks/bccd_yolo.md, has not picked a weight' in report) != picked
        assert 'yolov6-t_yolov6-n_300i_bccd' in report
        assert ('model.distiller.levels.loss.alpha=0.00028' in report) == picked  # its pick: 10x the recipe's
    if task == 'pose':
        teacher = open(osp.join(root, 'teacher', 'last_checkpoint')).read().strip()
        stamp = os.stat(teacher).st_mtime_ns
        again = run(['tools/demo.py', '--task', 'pose', '--work-dir', work] + TWO_ITERS).stdout
        assert f'[pose] teacher: reusing {teacher}' in again and 'train the teacher' not in again
        assert os.stat(teacher).st_mtime_ns == stamp
        assert re.search(r'^\| teacher \| .* \| [\d.]+ \(cached\) \|$', again, re.M), again[-1500:]


def test_demo_failed_phase_names_it_and_shows_its_log(tmp_path):
    work = str(tmp_path / 'demo')
    proc = run(['tools/demo.py', '--task', 'pose', '--work-dir', work, '--cfg-options',
                'train_dataloader.batch_size=0'], check=False)
    log = osp.join(work, 'pose', 'teacher', 'train.log')
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert f'demo: train the teacher failed (exit status 1); its log: {log}' in proc.stdout
    assert 'batch_size should be a positive integer value' in proc.stdout  # the log's last lines, printed
    assert 'batch_size should be a positive integer value' in open(log).read()


def test_demo_verbose_shows_the_logs_live(tmp_path):
    """--verbose prints every line of each phase's log as it comes, not only a failed phase's last lines."""
    work = str(tmp_path / 'demo')
    proc = run(['tools/demo.py', '--task', 'pose', '--work-dir', work, '--verbose', '--cfg-options',
                'train_dataloader.batch_size=0'], check=False)
    assert proc.returncode == 1
    lines = open(osp.join(work, 'pose', 'teacher', 'train.log')).read().splitlines()[1:]  # [0]: the command
    assert len(lines) > 40, len(lines)  # more than the 30 lines a failure prints anyway
    assert lines[0] in proc.stdout and lines[len(lines) // 3] in proc.stdout
    quiet = run(['tools/demo.py', '--task', 'pose', '--work-dir', str(tmp_path / 'q'), '--cfg-options',
                 'train_dataloader.batch_size=0'], check=False)
    assert len(quiet.stdout.splitlines()) < 45 < len(proc.stdout.splitlines())  # the bars, the tail, the error
