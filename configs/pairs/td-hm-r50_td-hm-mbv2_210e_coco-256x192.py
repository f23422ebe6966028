# Table 7 (pose): top-down heatmap SimpleBaseline, ResNet-50 (MMPose zoo, 71.8 AP) -> MobileNetV2, COCO body,
# 256x192 input, 210 epochs (./td-hm-mbv2_210e_coco-256x192.py: data, schedule and runtime of the student).
# Distilled: the backbone's last stage, the map the HeatmapHead decodes heatmaps from (2048 vs 1280 channels at
# stride 32: methods need their *_align variant; recipes/pose/README.md says why this map). No inheriting
# strategy: the heads' input widths differ.
_base_ = ['./td-hm-mbv2_210e_coco-256x192.py', '../algorithms/backbone_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192-04af38ce_20220923.pth'  # noqa: E501
model = _base_.backbone_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py',
                 pretrained=False),
    teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(student_channels=1280, teacher_channels=2048)
