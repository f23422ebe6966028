# A pair MMYOLO distils itself (mmyolo::rtmdet/distillation/kd_l_rtmdet_x_neck_300e_coco.py: CWD, 52.3 box AP):
# RTMDet-x (52.8 box AP in the MMYOLO zoo) -> RTMDet-L (51.4 alone), COCO, 300 epochs, on the student's data,
# schedule, optimizer and hooks (./rtmdet-l_300e_coco.py: EMA, stage-2 pipeline for the last 20 epochs). Distilled:
# the three neck outputs (strides 8, 16, 32), 320 vs 256 channels, so methods need their *_align variant (MGD aligns
# itself). Upstream taps the convolution of each output before its BN and SiLU (`neck.out_layers.i.conv`); the levels
# here tap the neck's outputs, as every FPN/YOLO pair of this repository (recipes/rtmdet/README.md). No inheriting
# strategy: the heads differ in width.
_base_ = ['./rtmdet-l_300e_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmyolo/v0/rtmdet/rtmdet_x_syncbn_fast_8xb32-300e_coco/rtmdet_x_syncbn_fast_8xb32-300e_coco_20221231_100345-b85cd476.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmyolo::rtmdet/rtmdet_x_syncbn_fast_8xb32-300e_coco.py', pretrained=False),
    teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(name='neck', indices=[0, 1, 2], student_channels=256, teacher_channels=320)
# As upstream: distillation stops where the stage-2 pipeline starts (epoch 280 of 300, mmrazor's StopDistillHook sets
# model.distillation_stopped); the connectors then get no gradient, hence DDP's find_unused_parameters.
custom_hooks = _base_.custom_hooks + [
    dict(type='mmrazor.StopDistillHook', stop_epoch=_base_.max_epochs - _base_.num_epochs_stage2)]
find_unused_parameters = True
