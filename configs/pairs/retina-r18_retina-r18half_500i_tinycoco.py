# CPU demo pair: the tiny_coco RetinaNet R18 teacher (recipes/cpu_demo/teacher_*, trained by tools/demo.py) ->
# a half-width R18 student, same 128-channel FPN and head.
_base_ = ['../cpu_demo/retina_det.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'work_dirs/demo/det/teacher/iter_500.pth'
student = dict(
    _base_.model,
    backbone=dict(_base_.model.backbone, base_channels=32),
    neck=dict(_base_.model.neck, in_channels=[32, 64, 128, 256]))
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=student,
    teacher=_base_.model,
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'bbox_head'])
model.distiller.levels.update(student_channels=128, teacher_channels=128)
