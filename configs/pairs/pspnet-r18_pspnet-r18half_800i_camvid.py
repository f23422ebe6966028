# CPU demo pair: the CamVid PSPNet R18 teacher (recipes/cpu_demo/teacher_pspnet-r18_800i_camvid.py, trained by
# tools/demo.py) -> a half-width PSPNet R18 student; the decode head's fused feature (128 vs 64 channels) is
# distilled, so methods use their *_align variants.
_base_ = ['../cpu_demo/pspnet_seg.py', '../algorithms/decode_head_teacher.py']
teacher_ckpt = 'work_dirs/demo/seg/teacher/iter_800.pth'
student = dict(
    _base_.model,
    backbone=dict(_base_.model.backbone, stem_channels=32, base_channels=32),
    decode_head=dict(_base_.model.decode_head, in_channels=256, channels=64),
    auxiliary_head=dict(_base_.model.auxiliary_head, in_channels=128, channels=32))
model = _base_.decode_head_teacher
model.update(_delete_=True, architecture=student, teacher=_base_.model, teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(student_channels=64, teacher_channels=128)
