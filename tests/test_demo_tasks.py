"""dfd_razor.demo_tasks: the CPU demo tasks' recipes and metric reading."""
import json
import os.path as osp

import pytest

from dfd_razor.demo_tasks import TASKS, read_metric, recipe

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_recipe_paths():
    assert recipe(TASKS['yolo'], 'dfd') == 'recipes/cpu_demo/dfd_neck_yolov6-t_yolov6-n_500i_tinycoco.py'
    assert recipe(TASKS['pose'], 'teacher') == 'recipes/cpu_demo/teacher_td-hm-r18_800i_minicoco.py'
    assert recipe(TASKS['seg'], 'student') == 'recipes/cpu_demo/student_pspnet-r18half_800i_camvid.py'
    for task in TASKS.values():
        for method in ('teacher', 'student', 'dfd', 'pkd', 'mgd', 'cwd', 'fitnet'):
            assert osp.isfile(osp.join(ROOT, recipe(task, method))), (task['pair'], method)


def test_read_metric(tmp_path, capsys):
    path = str(tmp_path / 'm.json')

    def write(m):
        json.dump({'metrics': m}, open(path, 'w'))

    write({'coco/AP': 0.25})
    assert read_metric(path, 'coco/AP', 100) == 25.0
    write({})  # mmdet's CocoMetric with no detections at all
    assert read_metric(path, 'coco/bbox_mAP', 100) == 0.0
    assert 'no detections above the score threshold' in capsys.readouterr().out
    write({'pascal_voc/mAP': 0.0})  # BCCD: the VOC metric reports 0, CocoMetric nothing
    assert read_metric(path, 'coco/bbox_mAP', 100) == 0.0
    with pytest.raises(SystemExit, match="has no 'coco/bbox_mAP'"):  # CocoMetric ran but lacks the key
        write({'coco/bbox_mAP_50': 0.5})
        read_metric(path, 'coco/bbox_mAP', 100)
    with pytest.raises(SystemExit, match=r"has no 'mIoU' \(it has \['aAcc'\]\)"):
        write({'aAcc': 90.0})
        read_metric(path, 'mIoU', 1)
    with pytest.raises(SystemExit, match="has no 'coco/AP'"):  # empty, but not a detection metric
        write({})
        read_metric(path, 'coco/AP', 100)


def test_benchmark_pairs_and_demo_tasks():
    from dfd_razor.demo_tasks import DEMO_TASKS
    assert DEMO_TASKS == ['det', 'pose', 'seg', 'yolo']
    assert recipe(TASKS['bccd'], 'teacher') == 'recipes/cpu_demo/teacher_retina-r18_1600i_bccd.py'
    assert recipe(TASKS['bccd'], 'pkd') == 'recipes/cpu_demo/pkd_fpn_retina-r18_retina-r18q_300i_bccd.py'
    assert recipe(TASKS['camvid'], 'student') == 'recipes/cpu_demo/student_pspnet-r18q_200i_camvid.py'
    assert recipe(TASKS['camvid'], 'teacher') == recipe(TASKS['seg'], 'teacher')  # one CamVid teacher
    for task in TASKS.values():
        for method in ('teacher', 'student', 'dfd', 'pkd', 'mgd', 'cwd', 'fitnet'):
            assert osp.isfile(osp.join(ROOT, recipe(task, method))), (task['pair'], method)
