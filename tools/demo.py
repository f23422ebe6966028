"""The main job on CPU: train a teacher on the bundled small data, distil a student with DFD, evaluate, export.

    python tools/demo.py                      # detection (RetinaNet on tiny_coco, person)
    python tools/demo.py --task seg           # segmentation (PSPNet on CamVid)
    python tools/demo.py --task yolo          # YOLOv6-T -> YOLOv6-N (MMYOLO) on tiny_coco, person
    python tools/demo.py --task pose          # top-down heatmap pose on pose_minicoco; or --task all
    python tools/demo.py --data-root DIR      # where tiny_coco/, pose_minicoco/, camvid/, bccd/ are (else see below)

Data: --data-root, else $DFD_DATA_ROOT, else ../shared/data beside the repository, else ~/.cache/dfd-razor/data,
else downloaded there from the datasets' public repositories and checked (dfd_razor/data.py). Teachers are kept in
the work dir (default work_dirs/demo/<task>/teacher) and reused by the next run. Every training and evaluation
step shows mmengine's progress and ETA. The last lines are a table of teacher, student-with-DFD and exported-
student metrics.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from dfd_razor.data import resolve_data_root  # noqa: E402
from dfd_razor.demo_tasks import DEMO_TASKS, TASKS, read_metric, recipe  # noqa: E402


def sh(args: List[str], env: Dict[str, str]) -> None:
    print('\n$ ' + ' '.join(args), flush=True)
    proc = subprocess.run([sys.executable] + args, cwd=REPO, env=env)
    if proc.returncode != 0:
        raise SystemExit(f'demo: step failed ({proc.returncode}): {" ".join(args)}')


def last_checkpoint(work_dir: str) -> str:
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return ''
    ckpt = open(path).read().strip()
    return ckpt if osp.isfile(ckpt) else ''


def run_task(name: str, spec: Dict, work: str, env: Dict[str, str], extra: List[str]) -> Dict[str, float]:
    teacher_dir, dfd_dir = osp.join(work, name, 'teacher'), osp.join(work, name, 'dfd')
    teacher = last_checkpoint(teacher_dir)
    if teacher and 'iter_' in teacher:
        print(f'\n[{name}] teacher: reusing {teacher}', flush=True)
    else:
        print(f'\n[{name}] training the teacher', flush=True)
        sh(['tools/train.py', recipe(spec, 'teacher'), '--work-dir', teacher_dir] + extra, env)
        teacher = last_checkpoint(teacher_dir)
    print(f'\n[{name}] distilling the student with DFD', flush=True)
    sh(['tools/train.py', recipe(spec, 'dfd'), '--work-dir', dfd_dir, '--cfg-options',
        f'model.teacher_ckpt={teacher}'] + extra, env)
    student = last_checkpoint(dfd_dir)
    results = {}
    for label, args in (('teacher', [recipe(spec, 'teacher'), teacher]),
                        ('student (DFD)', [recipe(spec, 'dfd'), student])):
        out = osp.join(work, name, f'{label.split()[0]}_metrics.json')
        sh(['tools/test.py'] + args + ['--work-dir', osp.join(work, name, 'test'), '--out-metrics', out], env)
        results[label] = read_metric(out, spec['metric'], spec['scale'])
    exported = osp.join(work, name, 'student_exported.pth')
    sh(['tools/export_student.py', recipe(spec, 'dfd'), student, exported], env)
    out = osp.join(work, name, 'exported_metrics.json')
    sh(['tools/test.py', recipe(spec, 'student'), exported, '--work-dir', osp.join(work, name, 'test'),
        '--out-metrics', out], env)
    results['exported student'] = read_metric(out, spec['metric'], spec['scale'])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=sorted(TASKS) + ['all'], default='det')
    parser.add_argument('--data-root', help='folder holding tiny_coco/, pose_minicoco/, camvid/, bccd/')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--cfg-options', nargs='+', default=[], help='passed to every training run')
    args = parser.parse_args()
    tasks = DEMO_TASKS if args.task == 'all' else [args.task]
    data_root = resolve_data_root(sorted({d for t in tasks for d in TASKS[t]['data']}), args.data_root)
    print(f'data root: {data_root}', flush=True)
    env = dict(os.environ, DFD_DATA_ROOT=data_root)
    extra = ['--cfg-options'] + args.cfg_options if args.cfg_options else []
    start = time.time()
    rows = []
    for t in tasks:
        for model, value in run_task(t, TASKS[t], args.work_dir, env, extra).items():
            rows.append((t, model, TASKS[t]['metric'], value))
    print(f'\n| task | model | metric | value |\n| --- | --- | --- | --- |')
    for t, model, metric, value in rows:
        print(f'| {t} | {model} | {metric} | {value:.1f} |')
    print(f'\ntotal {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
