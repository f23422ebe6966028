# CPU demo pair: the pose_minicoco heatmap ResNet-18 teacher (recipes/cpu_demo/teacher_td-hm-r18_800i_minicoco.py,
# trained by tools/demo.py --task pose) -> a half-width ResNet-18 (32-channel stem and stages) with 64-channel
# deconvolutions. As in the paper's pose pair, the backbone's last stage (the map the HeatmapHead decodes) is
# distilled: 256 vs 512 channels, so methods use their *_align variant (MGD aligns itself).
_base_ = ['../cpu_demo/heatmap_pose.py', '../algorithms/backbone_teacher.py']
teacher_ckpt = 'work_dirs/demo/pose/teacher/iter_800.pth'
student = dict(
    _base_.model,
    backbone=dict(_base_.model.backbone, stem_channels=32, base_channels=32),
    head=dict(_base_.model.head, in_channels=256, deconv_out_channels=(64, 64, 64)))
model = _base_.backbone_teacher
model.update(_delete_=True, architecture=student, teacher=_base_.model, teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(student_channels=256, teacher_channels=512)
