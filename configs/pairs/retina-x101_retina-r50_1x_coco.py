# Ablations (tables 1, 5, 8-12) and table 10's PKD/MGD rows: RetinaNet ResNeXt101-64x4d (41.0 box AP) -> RetinaNet
# R50, 1x; data, schedule and runtime of the student. The 2x pair (table 2) with the 1x student config.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_x101_64x4d_fpn_1x_coco/retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py', pretrained=False),
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'bbox_head'])
