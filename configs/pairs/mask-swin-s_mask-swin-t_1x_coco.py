# Table 3: Mask R-CNN Swin-S (48.2 box AP: the zoo's AMP multi-scale-crop 3x model, the teacher of MMRazor's PKD
# Swin recipe; the paper's table labels it 1x) -> Mask R-CNN Swin-T, 1x. Data, schedule and runtime of the student,
# including MMDet's AdamW optimizer for Swin (the paper's SGD setting is for the CNN detectors). Same heads: neck,
# RPN head and RoI head (box and mask branches) are inherited.
_base_ = ['mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/swin/mask_rcnn_swin-s-p4-w7_fpn_fp16_ms-crop-3x_coco/mask_rcnn_swin-s-p4-w7_fpn_fp16_ms-crop-3x_coco_20210903_104808-b92c91f1.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::swin/mask-rcnn_swin-s-p4-w7_fpn_amp-ms-crop-3x_coco.py', pretrained=False),
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'rpn_head', 'roi_head'])
