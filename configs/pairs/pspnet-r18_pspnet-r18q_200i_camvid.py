# CamVid benchmark pair: the demo's PSPNet R18-d8 teacher (recipes/cpu_demo/teacher_pspnet-r18_800i_camvid.py, 800
# iterations) -> a quarter-width PSPNet R18-d8 student (16-channel stem and stages, 32-channel head) trained for 200
# iterations. The decode head's fused feature (32 vs 128 channels) is distilled, so methods use their *_align
# variants. Unlike the half-width demo pair (which matches its teacher when trained alone for as long), this student
# has a capacity and schedule gap to close (benchmarks/README.md gives it as measured). 200 iterations: a distilled
# run takes ~1.5 s per iteration on one thread (the teacher runs its full forward), so that the benchmark's ~60 runs
# fit about 3 hours of two cores.
_base_ = ['../cpu_demo/pspnet_seg.py', '../algorithms/decode_head_teacher.py']
teacher_ckpt = 'work_dirs/demo/camvid/teacher/iter_800.pth'
student = dict(
    _base_.model,
    backbone=dict(_base_.model.backbone, stem_channels=16, base_channels=16),
    decode_head=dict(_base_.model.decode_head, in_channels=128, channels=32),
    auxiliary_head=dict(_base_.model.auxiliary_head, in_channels=64, channels=16))
model = _base_.decode_head_teacher
model.update(_delete_=True, architecture=student, teacher=_base_.model, teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(student_channels=32, teacher_channels=128)
train_cfg = dict(max_iters=200, val_interval=200)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=200, by_epoch=False)]
default_hooks = dict(checkpoint=dict(interval=200))
