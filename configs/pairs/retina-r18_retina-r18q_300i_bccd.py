# BCCD benchmark pair: the RetinaNet R18 teacher (recipes/cpu_demo/teacher_retina-r18_1600i_bccd.py) -> a
# quarter-width R18 student (16-channel stem and stages, 1/16 of the backbone's multiply-adds) with the same
# 128-channel FPN and head, so that the distilled students inherit the teacher's neck and head (the inheriting
# strategy of the project's other detection pairs) and the distillers need no channel alignment. The gap between
# the teacher and the student alone, which a feature loss can close, comes from capacity (a much narrower backbone)
# and schedule: the student trains 300 iterations (6 epochs of the 205 images) to the teacher's 1600, sized so that
# the benchmark's ~60 runs fit about 3 hours of two cores (a distilled run: ~1.1 s per iteration, one thread).
# benchmarks/bccd.md gives the gap as measured.
_base_ = ['../cpu_demo/retina_bccd.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'work_dirs/demo/bccd/teacher/iter_1600.pth'
student = dict(
    _base_.model,
    backbone=dict(_base_.model.backbone, base_channels=16),
    neck=dict(_base_.model.neck, in_channels=[16, 32, 64, 128]))
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=student,
    teacher=_base_.model,
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'bbox_head'])
model.distiller.levels.update(student_channels=128, teacher_channels=128)
train_cfg = dict(max_iters=300, val_interval=300)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, milestones=[225, 276], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=300))
