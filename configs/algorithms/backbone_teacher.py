# Distillation on the feature a model's head decodes from when there is no neck (top-down heatmap pose: the
# HeatmapHead's deconvolutions turn the backbone's last stage into keypoint heatmaps). The teacher runs
# `extract_feat` only (backbone, plus the neck where a config has one: then tap the neck instead). One recorder
# per model taps the backbone's tuple of outputs; pair files set the channels, method files the connectors/loss.
custom_imports = dict(imports=['dfd_razor'], allow_failed_imports=False)

backbone_teacher = dict(
    _scope_='mmrazor',
    type='CheckedFpnTeacherDistill',
    distiller=dict(
        type='MultiLevelDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='backbone')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='backbone')),
        levels=dict(name='backbone', indices=[0])))
