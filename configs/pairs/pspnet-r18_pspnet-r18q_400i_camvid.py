# CamVid benchmark pair: the PSPNet R18-d8 teacher trained for 1600 iterations
# (recipes/cpu_demo/teacher_pspnet-r18_1600i_camvid.py) -> a quarter-width PSPNet R18-d8 student (16-channel stem
# and stages, 32-channel head) trained for 400. The decode head's fused feature (32 vs 128 channels) is distilled,
# so methods use their *_align variants. Unlike the half-width demo pair (which matches its teacher when trained
# alone), this student has a real capacity and schedule gap to close (see benchmarks/camvid.md).
_base_ = ['../cpu_demo/pspnet_seg.py', '../algorithms/decode_head_teacher.py']
teacher_ckpt = 'work_dirs/demo/camvid/teacher/iter_1600.pth'
student = dict(
    _base_.model,
    backbone=dict(_base_.model.backbone, stem_channels=16, base_channels=16),
    decode_head=dict(_base_.model.decode_head, in_channels=128, channels=32),
    auxiliary_head=dict(_base_.model.auxiliary_head, in_channels=64, channels=16))
model = _base_.decode_head_teacher
model.update(_delete_=True, architecture=student, teacher=_base_.model, teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(student_channels=32, teacher_channels=128)
train_cfg = dict(max_iters=400, val_interval=400)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=400, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=400))
