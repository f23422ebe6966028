# Table 4: Mask R-CNN ResNeXt101-32x4d (42.2 box AP: the 2x zoo model) -> Faster R-CNN R50, 1x; data, schedule and
# runtime of the student. The RoI head's box branch has the student's structure and is inherited with the neck and
# RPN head; the teacher's mask head has no counterpart in the student and is left unused.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/mask_rcnn_x101_32x4d_fpn_2x_coco/mask_rcnn_x101_32x4d_fpn_2x_coco_bbox_mAP-0.422__segm_mAP-0.378_20200506_004702-faef898c.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::mask_rcnn/mask-rcnn_x101-32x4d_fpn_2x_coco.py', pretrained=False),
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'rpn_head', 'roi_head'])
