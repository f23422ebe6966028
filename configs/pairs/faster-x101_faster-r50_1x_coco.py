# Table 4: Faster R-CNN ResNeXt101-32x4d (41.2 box AP, 1x) -> Faster R-CNN R50, 1x; data, schedule and runtime of
# the student. Same heads: neck, RPN head and RoI head are inherited.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_x101_32x4d_fpn_1x_coco/faster_rcnn_x101_32x4d_fpn_1x_coco_20200203-cff10310.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_x101-32x4d_fpn_1x_coco.py', pretrained=False),
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'rpn_head', 'roi_head'])
