# MMYOLO held-out pair: the BCCD YOLOv6-T teacher (recipes/cpu_demo/teacher_yolov6-t_1000i_bccd.py, trained by
# tools/demo.py --task yolo or the bccd_yolo benchmark preset) -> YOLOv6-N (widen 0.25), BCCD val held out. As in the
# paper's YOLOv6 pair, all three neck outputs (strides 8, 16, 32) are distilled and their widths differ (48/96/192 vs
# 32/64/128 channels), so methods use their *_align variant (MGD aligns itself). The gap between the teacher and the
# student alone comes from capacity (0.25 vs 0.375 width) and schedule: the student trains 300 iterations (about 12
# epochs of the 205 images) to the teacher's 1000. Data, hooks (EMA included) and model are those of
# ../cpu_demo/yolov6_bccd.py.
_base_ = ['../cpu_demo/yolov6_bccd.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'work_dirs/demo/yolo/teacher/iter_1000.pth'
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
max_iters = 300
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=False, begin=50, end=max_iters)
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
