"""dfd_razor_tools.cpu_pairs: the built-in CPU pairs' recipes and metric reading."""
import json
import os
import os.path as osp
import re

import pytest

from dfd_razor_tools.cpu_pairs import TASKS, benchmark_has_picked, dfd_weight_options, read_metric, recipe

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_recipe_paths():
    assert recipe(TASKS['yolo'], 'dfd') == 'recipes/cpu_demo/dfd_neck_yolov6-t_yolov6-n_300i_bccd.py'
    assert recipe(TASKS['pose'], 'teacher') == 'recipes/cpu_demo/teacher_td-hm-r18_800i_minicoco.py'
    assert recipe(TASKS['seg'], 'student') == 'recipes/cpu_demo/student_pspnet-r18q_200i_camvid.py'
    assert recipe(TASKS['det'], 'teacher') == 'recipes/cpu_demo/teacher_retina-r18_800i_bccd.py'
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
    from dfd_razor_tools.cpu_pairs import DEMO_TASKS
    assert DEMO_TASKS == ['det', 'pose', 'seg', 'yolo']
    assert recipe(TASKS['bccd'], 'teacher') == 'recipes/cpu_demo/teacher_retina-r18_1600i_bccd.py'
    assert recipe(TASKS['bccd'], 'pkd') == 'recipes/cpu_demo/pkd_fpn_retina-r18_retina-r18q_300i_bccd.py'
    assert recipe(TASKS['camvid'], 'student') == 'recipes/cpu_demo/student_pspnet-r18q_200i_camvid.py'
    # the demo's held-out tasks run the benchmark's pairs; seg also its teacher, det a shorter one
    assert TASKS['seg']['pair'] == TASKS['camvid']['pair'] and TASKS['det']['pair'] == TASKS['bccd']['pair']
    assert recipe(TASKS['camvid'], 'teacher') == recipe(TASKS['seg'], 'teacher')
    assert TASKS['yolo']['pair'] == TASKS['bccd_yolo']['pair'] and TASKS['yolo']['teacher'] == TASKS['bccd_yolo'][
        'teacher']
    assert TASKS['det']['held_out'] and TASKS['seg']['held_out'] and TASKS['yolo']['held_out']
    assert not TASKS['pose']['held_out']  # scored on its training people


def test_demo_dfd_weight_is_the_benchmarks_pick():
    """The demo's DFD factor is the one tools/benchmark.py's protocol picks from the committed seed-0 sweep."""
    from dfd_razor_tools.benchmark import sweep as bench
    for task in ('det', 'seg', 'yolo'):
        runs = osp.join(ROOT, 'benchmarks', 'runs', TASKS[task]['benchmark'])
        sweep = {}
        for name in os.listdir(runs) if osp.isdir(runs) else []:
            m = re.fullmatch(r'dfd_x([\d.]+)_s0\.json', name)
            if m:
                record = json.load(open(osp.join(runs, name)))
                sweep[float(m.group(1))] = record['metric'] if record['status'] == 'ok' else None
        complete = len(sweep) >= 3 and bench.extension(sweep, bench.FACTORS, bench.MAX_EXTEND) is None
        expected = bench.pick(sweep) if complete else 1  # 1 until the benchmark's sweep is complete
        assert TASKS[task]['dfd_factor'] == expected, (task, sweep)
        assert benchmark_has_picked(TASKS[task]) == complete, task  # what the demo's report says of the weight
    loss = 'model.distiller.levels.loss.'
    assert dfd_weight_options(TASKS['det']) == [loss + 'alpha=0.00028', loss + 'beta=0.0001']  # 10 x 2.8e-5, 1e-5
    assert dfd_weight_options(TASKS['yolo']) == [loss + 'alpha=0.00028', loss + 'beta=0.0001']  # its sweep: x10
    assert dfd_weight_options(dict(TASKS['yolo'], dfd_factor=1)) == []
    assert not benchmark_has_picked(TASKS['pose'])  # no benchmark


def test_teacher_state_reuses_only_a_finished_schedule(tmp_path):
    from dfd_razor_tools.benchmark.teacher import teacher_state
    from dfd_razor_tools.schedule import schedule_length
    assert schedule_length(recipe(TASKS['det'], 'teacher')) == 800
    assert schedule_length(recipe(TASKS['bccd'], 'teacher')) == 1600
    assert schedule_length(recipe(TASKS['det'], 'teacher'), ['train_cfg.max_iters=2', 'randomness.seed=3']) == 2
    work = tmp_path / 'teacher'
    assert teacher_state(str(work), 800) == dict(finished='', partial='')  # nothing yet
    work.mkdir()
    for i in (400, 800):
        (work / f'iter_{i}.pth').write_bytes(b'x')
    (work / 'last_checkpoint').write_text(str(work / 'iter_400.pth'))  # stopped half way: resumed, never used
    assert teacher_state(str(work), 800) == dict(finished='', partial=str(work / 'iter_400.pth'))
    (work / 'last_checkpoint').write_text(str(work / 'iter_800.pth'))
    assert teacher_state(str(work), 800) == dict(finished=str(work / 'iter_800.pth'), partial='')
    assert teacher_state(str(work), 2) == dict(finished='', partial='')  # a longer schedule's: trained anew
    assert teacher_state(str(work), 1600) == dict(finished='', partial=str(work / 'iter_800.pth'))
    (work / 'last_checkpoint').write_text(str(work / 'iter_1200.pth'))  # names a file that is gone
    assert teacher_state(str(work), 1200) == dict(finished='', partial='')
    # another recipe's teacher in the dir (mmengine dumped its config there): an error, not a resume
    (work / 'last_checkpoint').write_text(str(work / 'iter_400.pth'))
    (work / 'teacher_yolov6-t_500i_tinycoco.py').write_text('')
    with pytest.raises(ValueError, match=r'holds iter_400.pth of teacher_yolov6-t_500i_tinycoco.py, not of '
                                         r'teacher_yolov6-t_1000i_bccd.py: remove the folder'):
        teacher_state(str(work), 1000, recipe(TASKS['yolo'], 'teacher'))
    (work / 'teacher_yolov6-t_1000i_bccd.py').write_text('')  # its own dump beside: its own checkpoints
    assert teacher_state(str(work), 1000, recipe(TASKS['yolo'], 'teacher'))['partial'] == str(work / 'iter_400.pth')
