# YOLO on BCCD blood cells, the held-out MMYOLO benchmark (benchmarks/bccd_yolo.md):
#     OMP_NUM_THREADS=1 python tools/benchmark.py --preset bccd_yolo --jobs 2
# Each name below is the default of the tools/benchmark.py option of the same name (paths relative to the
# repository), which overrides it; teacher_recipe, teacher_work_dir, data and description are the preset's own.
name = 'bccd_yolo'
description = ('Pair: `recipes/cpu_demo/*_neck_yolov6-t_yolov6-n_300i_bccd.py`: MMYOLO YOLOv6-T teacher (1000 '
               'iterations, from scratch) -> YOLOv6-N (widen 0.25, 300 iterations), the three neck outputs distilled '
               'with channels aligned, BCCD (205 train, 87 val images, 3 classes), everything scored on val (EMA '
               'weights), which no model trained on. The student inherits nothing from the teacher (other widths), '
               'so there is no inherit row.')
folder = 'recipes/cpu_demo'
pair = '*_neck_yolov6-t_yolov6-n_300i_bccd.py'
student = 'student_yolov6-n_300i_bccd.py'
methods = ['student', 'fitnet', 'pkd', 'mgd', 'cwd', 'dfd']
teacher_recipe = 'recipes/cpu_demo/teacher_yolov6-t_1000i_bccd.py'
teacher_threads = 1  # the same weights when retrained on the same CPU (presets/bccd.py)
teacher_work_dir = 'work_dirs/demo/yolo/teacher'
metric = 'coco/bbox_mAP'
scale = 100
extra_metrics = {'pascal_voc/mAP': 100}
label = 'box mAP@[.5:.95] (BCCD val, held out)'
data = ['bccd']
out_dir = 'benchmarks'  # tables here, records in benchmarks/runs/bccd_yolo/
