# YOLOv8-M (49.8 box AP in the MMYOLO zoo) -> YOLOv8-S (44.2 alone), COCO, 500 epochs, on the student's data,
# schedule, optimizer and hooks (./yolov8-s_500e_coco.py: EMA, stage-2 pipeline without mosaic for the last 10
# epochs). MMYOLO publishes no YOLOv8 distillation, so nothing here is upstream's: distilled are the three neck
# outputs (strides 8, 16, 32; YOLOv8PAFPN's out layers are identities, so these are its last C2f blocks), whose
# widths differ (widen 0.75 vs 0.5 with last stage 768 vs 1024: 192/384/576 vs 128/256/512 channels), so methods
# need their *_align variant (MGD aligns itself). Distillation runs all 500 epochs, as in the YOLOv6 pair. MMYOLO's
# YOLOv8 loss is summed over the global batch (x images per GPU x GPUs), so the published weights give distill
# losses 100 to 10000 times below the task loss (the doctor's numbers: recipes/yolov8/README.md).
_base_ = ['./yolov8-s_500e_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmyolo/v0/yolov8/yolov8_m_syncbn_fast_8xb16-500e_coco/yolov8_m_syncbn_fast_8xb16-500e_coco_20230115_192200-c22e560a.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmyolo::yolov8/yolov8_m_syncbn_fast_8xb16-500e_coco.py', pretrained=False),
    teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(
    name='neck', indices=[0, 1, 2], student_channels=[128, 256, 512], teacher_channels=[192, 384, 576])
