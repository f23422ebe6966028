# Table 2: Cascade Mask R-CNN ResNeXt101-32x4d with DCN in c3-c5 (47.3 box AP, 1x) -> Faster R-CNN R50, 2x.
# The paper says "CascadeMaskRCNN ResNeXt101" without the variant; this DCN model is the teacher FGD and MGD use
# for this pair, whose numbers the paper's table compares with. Data, schedule and runtime of the student.
# Inheriting strategy: neck and RPN head only. The cascade RoI head (three bbox heads, `bbox_head.{0,1,2}`) has
# no tensor of the same name as Faster R-CNN's single `bbox_head`: the heads are not the same structure.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/dcn/cascade_mask_rcnn_x101_32x4d_fpn_dconv_c3-c5_1x_coco/cascade_mask_rcnn_x101_32x4d_fpn_dconv_c3-c5_1x_coco-e75f90c8.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::dcn/cascade-mask-rcnn_x101-32x4d-dconv-c3-c5_fpn_1x_coco.py', pretrained=False),
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'rpn_head'])
