# CPU demo pair: the tiny_coco YOLOv6-T teacher (recipes/cpu_demo/teacher_yolov6-t_500i_tinycoco.py, trained by
# tools/demo.py --task yolo) -> YOLOv6-N (widen 0.25). As in the paper's YOLOv6 pair, all three neck outputs
# (strides 8, 16, 32) are distilled and their widths differ (48/96/192 vs 32/64/128 channels), so methods use their
# *_align variant (MGD aligns itself). Data, schedule and hooks (EMA included) are those of ../cpu_demo/yolov6_det.py.
_base_ = ['../cpu_demo/yolov6_det.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'work_dirs/demo/yolo/teacher/iter_500.pth'
widen_factor = 0.25
student = dict(
    _base_.model,
    backbone=dict(_base_.model.backbone, widen_factor=widen_factor),
    neck=dict(_base_.model.neck, widen_factor=widen_factor),
    bbox_head=dict(_base_.model.bbox_head, head_module=dict(_base_.model.bbox_head.head_module,
                                                            widen_factor=widen_factor)))
model = _base_.fpn_teacher
model.update(_delete_=True, architecture=student, teacher=_base_.model, teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(
    name='neck', indices=[0, 1, 2], student_channels=[32, 64, 128], teacher_channels=[48, 96, 192])
