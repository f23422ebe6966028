# docs/extending.md, a model family no paper table covers: RTMDet-Ins-S (MMDetection zoo, 38.7 mask AP) ->
# RTMDet-Ins-tiny (35.4 mask AP alone), COCO instance segmentation, 300 epochs; data, schedule, optimizer and hooks
# (EMA, pipeline switch) are the student's. Distilled: the three neck outputs (strides 8, 16, 32), which feed both
# the box branch and the mask branch (whose prototypes are computed from them); 96 vs 128 channels, so methods need
# their *_align variant. No inheriting strategy: the heads differ in width.
_base_ = ['mmdet::rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v3.0/rtmdet/rtmdet-ins_s_8xb32-300e_coco/rtmdet-ins_s_8xb32-300e_coco_20221121_212604-fdc5d7ec.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::rtmdet/rtmdet-ins_s_8xb32-300e_coco.py', pretrained=False),
    teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(name='neck', indices=[0, 1, 2], student_channels=96, teacher_channels=128)
