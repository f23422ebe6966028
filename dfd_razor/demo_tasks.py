"""The CPU demonstration tasks of recipes/cpu_demo, shared by tools/demo.py and benchmarks/distill_benchmark.py.

Per task: the bundled data sets it needs (dfd_razor.data), its pair (a method recipe is
``<method>_<location>_<pair>.py``), its teacher and plain-student recipes, and the metric reported, with the
factor that turns it into percent and a label for tables. ``bccd`` (and ``camvid``) are the held-out benchmark
pairs of ``benchmarks/distill_benchmark.py``: scored on images the models never trained on; ``extra`` lists
further metrics reported beside the headline one.
"""
import json
import os.path as osp
from typing import Dict

RECIPES = osp.join('recipes', 'cpu_demo')

TASKS: Dict[str, Dict] = {
    'det': dict(data=['tiny_coco'], pair='retina-r18_retina-r18half_500i_tinycoco', location='fpn',
                teacher='teacher_retina-r18_500i_tinycoco.py', student='student_retina-r18half_500i_tinycoco.py',
                metric='coco/bbox_mAP', scale=100, label='person box AP (tiny_coco, the 50 training images)'),
    'bccd': dict(data=['bccd'], pair='retina-r18_retina-r18q_300i_bccd', location='fpn',
                 teacher='teacher_retina-r18_1600i_bccd.py', student='student_retina-r18q_300i_bccd.py',
                 metric='coco/bbox_mAP', scale=100, extra={'pascal_voc/mAP': 100},
                 label='box mAP@[.5:.95] (BCCD val, held out)'),
    'camvid': dict(data=['camvid'], pair='pspnet-r18_pspnet-r18q_200i_camvid', location='head',
                   teacher='teacher_pspnet-r18_800i_camvid.py', student='student_pspnet-r18q_200i_camvid.py',
                   metric='mIoU', scale=1, extra={'aAcc': 1}, label='mIoU (CamVid val, held out)'),
    'seg': dict(data=['camvid'], pair='pspnet-r18_pspnet-r18half_800i_camvid', location='head',
                teacher='teacher_pspnet-r18_800i_camvid.py', student='student_pspnet-r18half_800i_camvid.py',
                metric='mIoU', scale=1, label='mIoU (CamVid val, 11 classes)'),
    'yolo': dict(data=['tiny_coco'], pair='yolov6-t_yolov6-n_500i_tinycoco', location='neck',
                 teacher='teacher_yolov6-t_500i_tinycoco.py', student='student_yolov6-n_500i_tinycoco.py',
                 metric='coco/bbox_mAP', scale=100, label='person box AP (tiny_coco, the 50 training images)'),
    'pose': dict(data=['pose_minicoco'], pair='td-hm-r18_td-hm-r18half_800i_minicoco', location='backbone',
                 teacher='teacher_td-hm-r18_800i_minicoco.py', student='student_td-hm-r18half_800i_minicoco.py',
                 metric='coco/AP', scale=100, label='keypoint AP (pose_minicoco, the 53 training people)'),
}


#: What ``tools/demo.py --task all`` runs. ``bccd`` and ``camvid`` are the benchmark's pairs (longer teachers);
#: ``tools/demo.py --task bccd`` runs one of them through the demo's steps too.
DEMO_TASKS = ['det', 'pose', 'seg', 'yolo']


def recipe(task: Dict, method: str) -> str:
    """The recipe of ``method`` ('teacher', 'student', or a method such as 'dfd') for a task of :data:`TASKS`."""
    if method in ('teacher', 'student'):
        return osp.join(RECIPES, task[method])
    return osp.join(RECIPES, f'{method}_{task["location"]}_{task["pair"]}.py')


def read_metric(path: str, metric: str, scale: float) -> float:
    """The task's metric from a tools/test.py metrics file, times ``scale`` (to percent).

    MMDetection's CocoMetric returns no metric at all when a model detects nothing above its score threshold (it
    logs "The testing results of the whole dataset is empty"), while other metrics beside it (BCCD's VOC mAP)
    still report; that is an AP of 0 by definition, reported as 0.0 with a line saying so. Any other missing
    metric is an error naming the file and the key.
    """
    metrics = json.load(open(path))['metrics']
    if metric in metrics:
        return metrics[metric] * scale
    if metric.startswith('coco/bbox') and not any(k.startswith('coco/') for k in metrics):
        print(f'no detections above the score threshold ({path}): {metric} = 0', flush=True)
        return 0.0
    raise SystemExit(f'{path} has no {metric!r} (it has {sorted(metrics)})')
