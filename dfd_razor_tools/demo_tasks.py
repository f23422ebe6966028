"""The CPU demonstration tasks of recipes/cpu_demo: tools/demo.py's tasks and the pairs of the benchmark presets.

Per task: the bundled data sets it needs (dfd_razor_tools.data), its pair (a method recipe is
``<method>_<location>_<pair>.py``), its teacher and plain-student recipes, and the metric reported, with the
factor that turns it into percent, further metrics reported beside it (``extra``), whether it is scored on images
the models never trained on (``held_out``) and a label for tables. ``bccd``, ``camvid`` and ``bccd_yolo`` are the
pairs of the held-out benchmark's presets (``benchmarks/presets/``, ``tools/benchmark.py --preset``); the demo's
``det``, ``seg`` and ``yolo`` run the same pairs.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

RECIPES = osp.join('recipes', 'cpu_demo')

_BCCD = dict(data=['bccd'], pair='retina-r18_retina-r18q_300i_bccd', location='fpn',
             teacher='teacher_retina-r18_1600i_bccd.py', student='student_retina-r18q_300i_bccd.py',
             metric='coco/bbox_mAP', scale=100, extra={'pascal_voc/mAP': 100}, held_out=True,
             label='box mAP@[.5:.95] (BCCD val, held out)')
_BCCD_YOLO = dict(data=['bccd'], pair='yolov6-t_yolov6-n_300i_bccd', location='neck',
                  teacher='teacher_yolov6-t_1000i_bccd.py', student='student_yolov6-n_300i_bccd.py',
                  metric='coco/bbox_mAP', scale=100, extra={'pascal_voc/mAP': 100}, held_out=True,
                  label='box mAP@[.5:.95] (BCCD val, held out)')
_CAMVID = dict(data=['camvid'], pair='pspnet-r18_pspnet-r18q_200i_camvid', location='head',
               teacher='teacher_pspnet-r18_800i_camvid.py', student='student_pspnet-r18q_200i_camvid.py',
               metric='mIoU', scale=1, extra={'aAcc': 1}, held_out=True, label='mIoU (CamVid val, held out)')

TASKS: Dict[str, Dict] = {
    # tools/demo.py's tasks. `dfd_factor` multiplies the DFD recipe's alpha and beta: the factor the held-out
    # benchmark picked on val for the same pair (benchmarks/<benchmark>.md; test_demo_tasks.py checks it),
    # `figure` the val items and level of the attention figure.
    'det': dict(_BCCD, teacher='teacher_retina-r18_800i_bccd.py', dfd_factor=10, benchmark='bccd',
                figure=dict(val_index=[0, 6], level=0)),
    'seg': dict(_CAMVID, dfd_factor=1, benchmark='camvid', figure=dict(val_index=[0, 3], level=0)),
    'yolo': dict(_BCCD_YOLO, dfd_factor=10, benchmark='bccd_yolo', figure=dict(val_index=[0, 6], level=0)),
    'pose': dict(data=['pose_minicoco'], pair='td-hm-r18_td-hm-r18half_800i_minicoco', location='backbone',
                 teacher='teacher_td-hm-r18_800i_minicoco.py', student='student_td-hm-r18half_800i_minicoco.py',
                 metric='coco/AP', scale=100, held_out=False, dfd_factor=1, figure=dict(val_index=[0, 1], level=0),
                 label='keypoint AP (pose_minicoco, the 53 training people)'),
    # the benchmark presets' pairs (the demo's det, seg and yolo use the same pairs, det with a shorter teacher)
    'bccd': _BCCD,
    'camvid': _CAMVID,
    'bccd_yolo': _BCCD_YOLO,
}


#: What ``tools/demo.py --task all`` runs.
DEMO_TASKS = ['det', 'pose', 'seg', 'yolo']

#: Table headers of the metrics the tasks report.
METRIC_NAMES = {'coco/bbox_mAP': 'mAP', 'pascal_voc/mAP': 'mAP@0.5', 'mIoU': 'mIoU', 'aAcc': 'aAcc',
                'coco/AP': 'keypoint AP'}


def recipe(task: Dict, method: str) -> str:
    """The recipe of ``method`` ('teacher', 'student', or a method such as 'dfd') for a task of :data:`TASKS`."""
    if method in ('teacher', 'student'):
        return osp.join(RECIPES, task[method])
    return osp.join(RECIPES, f'{method}_{task["location"]}_{task["pair"]}.py')


def read_metric(path: str, metric: str, scale: float) -> float:
    """The task's metric from a tools/test.py metrics file, times ``scale`` (to percent), as
    :func:`dfd_razor_tools.run.read_metric` reads it (no detections at all: 0.0); a missing metric ends the demo
    with one line naming the file and the key (SystemExit)."""
    from dfd_razor_tools.run import MetricMissing
    from dfd_razor_tools.run import read_metric as read
    try:
        return read(path, metric, scale)
    except MetricMissing as e:
        raise SystemExit(str(e)) from e


def metric_columns(task: Dict) -> Dict[str, float]:
    """The metrics a task reports (headline first) with their factor to percent."""
    return {task['metric']: task['scale'], **task.get('extra', {})}


def dfd_weight_options(task: Dict) -> List[str]:
    """``--cfg-options`` that scale the DFD recipe's weights (as its loss declares them: alpha and beta) by the
    task's ``dfd_factor`` (none at 1)."""
    factor = task.get('dfd_factor', 1)
    if factor == 1:
        return []
    from mmengine.config import Config

    import dfd_razor  # noqa: F401  (registers the losses the declaration is looked up on)
    from dfd_razor.models.losses import weight_values
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    loss = Config.fromfile(osp.join(root, recipe(task, 'dfd'))).model.distiller.levels.loss.to_dict()
    return [f'model.distiller.levels.loss.{k}={v * factor:g}' for k, v in weight_values(loss).items()]


def benchmark_has_picked(task: Dict) -> bool:
    """Whether the task's held-out benchmark (``benchmarks/runs/<benchmark>/``) has finished DFD's seed-0 sweep, so
    that ``dfd_factor`` is its pick (tests/test_tools_lib/test_demo_tasks.py checks the factor against it)."""
    import glob
    import json
    import re

    from dfd_razor_tools.benchmark import FACTORS, MAX_EXTEND, extension
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    sweep = {}
    for path in glob.glob(osp.join(root, 'benchmarks', 'runs', task.get('benchmark', ''), 'dfd_x*_s0.json')):
        m = re.fullmatch(r'dfd_x([\d.e-]+)_s0\.json', osp.basename(path))
        if m:
            record = json.load(open(path))
            sweep[float(m.group(1))] = record['metric'] if record.get('status') == 'ok' else None
    return (bool(task.get('benchmark')) and all(f in sweep for f in FACTORS)
            and extension(sweep, FACTORS, MAX_EXTEND) is None)


def schedule_length(recipe_path: str, cfg_options: Sequence[str] = ()) -> int:
    """``train_cfg.max_iters`` of an iteration-based recipe (path from the repository root) after ``key=value``
    overrides, as tools/train.py would train it."""
    import argparse

    from mmengine.config import Config, DictAction
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = Config.fromfile(osp.join(root, recipe_path))
    if cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o'] + list(cfg_options)).o)
    if 'max_iters' not in cfg.get('train_cfg', {}):
        raise ValueError(f'{recipe_path}: train_cfg has no max_iters (the CPU tasks are iteration-based)')
    return int(cfg.train_cfg.max_iters)


def teacher_state(work_dir: str, max_iters: int, recipe_path: Optional[str] = None) -> Dict[str, str]:
    """What a teacher work dir holds: ``finished``, the checkpoint of the full schedule (``iter_<max_iters>.pth``,
    named by mmengine's ``last_checkpoint``), or ``partial``, the last checkpoint of an interrupted training, which
    is resumed, never used as the teacher. A checkpoint beyond ``max_iters`` (another, longer schedule) is neither:
    the teacher is trained anew.

    Raises:
        ValueError: With ``recipe_path``: the dir holds a checkpoint and mmengine's dump of another recipe (and none
            of this one), e.g. the teacher of a pair that used the same dir before; resuming or reusing it would
            train or distil from another model.
    """
    import re
    path = osp.join(work_dir, 'last_checkpoint')
    last = open(path).read().strip() if osp.isfile(path) else ''
    m = re.fullmatch(r'iter_(\d+)\.pth', osp.basename(last))
    if not last or not osp.isfile(last) or not m or int(m.group(1)) > max_iters:
        return dict(finished='', partial='')
    if recipe_path is not None:  # mmengine dumps the config it ran into the work dir under the recipe's file name
        dumped = sorted(f for f in os.listdir(work_dir) if f.endswith('.py'))
        if dumped and osp.basename(recipe_path) not in dumped:
            raise ValueError(f'{work_dir} holds {osp.basename(last)} of {", ".join(dumped)}, not of '
                             f'{osp.basename(recipe_path)}: remove the folder (or move it) to train this teacher')
    if int(m.group(1)) == max_iters:
        return dict(finished=last, partial='')
    return dict(finished='', partial=last)
