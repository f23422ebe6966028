# Table 2: RepPoints (moment) ResNeXt101-32x4d with DCN in c3-c5, GN neck and head (44.2 box AP, 2x) -> RepPoints
# R50 GN neck and head, 2x; the teacher of MMRazor's PKD RepPoints recipe. Data, schedule and runtime of the student.
_base_ = ['mmdet::reppoints/reppoints-moment_r50_fpn-gn_head-gn_2x_coco.py', '../algorithms/fpn_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/reppoints/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck%2Bhead_2x_coco/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck%2Bhead_2x_coco_20200329-f87da1ea.pth'  # noqa: E501
model = _base_.fpn_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmdet::reppoints/reppoints-moment_x101-dconv-c3-c5_fpn-gn_head-gn_2x_coco.py',
                 pretrained=False),
    teacher_ckpt=teacher_ckpt,
    inherit_from_teacher=['neck', 'bbox_head'])
