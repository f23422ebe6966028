"""The built-in CPU pairs of recipes/cpu_demo: tools/demo.py's tasks and the pairs of the benchmark presets.

Per task: the bundled data sets it needs (dfd_razor_tools.data), its pair (a method recipe is
``<method>_<location>_<pair>.py``), its teacher and plain-student recipes, and the metric reported, with the
factor that turns it into percent, further metrics reported beside it (``extra``), whether it is scored on images
the models never trained on (``held_out``) and a label for tables. ``bccd``, ``camvid`` and ``bccd_yolo`` are the
pairs of the held-out benchmark's presets (``benchmarks/presets/``, ``tools/benchmark.py --preset``); the demo's
``det``, ``seg`` and ``yolo`` run the same pairs.
"""
import os.path as osp
from typing import Dict, List

from dfd_razor_tools.paths import absolute

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
    # benchmark picked on val for the same pair (benchmarks/<benchmark>.md; test_cpu_pairs.py checks it),
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
    loss = Config.fromfile(absolute(recipe(task, 'dfd'))).model.distiller.levels.loss.to_dict()
    return [f'model.distiller.levels.loss.{k}={v * factor:g}' for k, v in weight_values(loss).items()]


def benchmark_has_picked(task: Dict) -> bool:
    """Whether the task's held-out benchmark (``benchmarks/runs/<benchmark>/``) has finished DFD's seed-0 sweep, so
    that ``dfd_factor`` is its pick (tests/test_tools_lib/test_cpu_pairs.py checks the factor against it)."""
    import glob
    import json
    import re

    from dfd_razor_tools.benchmark.sweep import FACTORS, MAX_EXTEND, extension
    sweep = {}
    for path in glob.glob(absolute(osp.join('benchmarks', 'runs', task.get('benchmark', ''), 'dfd_x*_s0.json'))):
        m = re.fullmatch(r'dfd_x([\d.e-]+)_s0\.json', osp.basename(path))
        if m:
            record = json.load(open(path))
            sweep[float(m.group(1))] = record['metric'] if record.get('status') == 'ok' else None
    return (bool(task.get('benchmark')) and all(f in sweep for f in FACTORS)
            and extension(sweep, FACTORS, MAX_EXTEND) is None)
