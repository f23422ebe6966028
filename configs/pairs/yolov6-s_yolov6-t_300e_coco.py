# Table 3: YOLOv6-S (400 epochs, 44.0 box AP) -> YOLOv6-T, 300 epochs, with MMYOLO (./yolov6-t_300e_coco.py): data,
# schedule, optimizer and hooks (EMA, pipeline switch for the last 15 epochs) are the student's. All three neck
# outputs (strides 8, 16, 32) are distilled; the widths differ (widen 0.5 vs 0.375: 64/128/256 vs 48/96/192
# channels), so methods need their *_align variant (MGD aligns itself). No inheriting strategy: the heads differ
# in width. MMYOLO's EMAHook averages the whole algorithm; the student's EMA weights are what validation uses and
# what dfd_razor.checkpoint.student_state_dict returns (recipes/yolov6/README.md).
_base_ = ['./yolov6-t_300e_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmyolo/v0/yolov6/yolov6_s_syncbn_fast_8xb32-400e_coco/yolov6_s_syncbn_fast_8xb32-400e_coco_20221102_203035-932e1d91.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmyolo::yolov6/yolov6_s_syncbn_fast_8xb32-400e_coco.py', pretrained=False),
    teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(
    name='neck', indices=[0, 1, 2], student_channels=[48, 96, 192], teacher_channels=[64, 128, 256])
