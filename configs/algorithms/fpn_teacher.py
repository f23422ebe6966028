# Distillation on the outputs of an FPN detector's neck (the paper: "all the feature maps obtained after the
# neck"): the teacher runs backbone and neck only. One recorder per model taps the neck's tuple of outputs; the
# distiller writes one connector/loss/mapping block per level from `levels`. Pair files (configs/pairs) add the
# student, teacher and checkpoint; method files (configs/methods) add the connectors and the loss.
custom_imports = dict(imports=['dfd_razor'], allow_failed_imports=False)

fpn_teacher = dict(
    _scope_='mmrazor',
    type='CheckedFpnTeacherDistill',
    distiller=dict(
        type='MultiLevelDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        levels=dict(name='fpn', indices=[0, 1, 2, 3, 4], student_channels=256, teacher_channels=256)))
