# Distillation on a semantic segmentation decode head (mmseg EncoderDecoder). The head's feature exists only when
# the head runs, so the teacher runs its full forward (CheckedSingleTeacherDistill, as MMRazor's
# cwd_logits_pspnet recipe). One recorder per model taps the feature the classifier reads: the output of
# `decode_head.bottleneck` for PSPHead (the pyramid-pooled, fused map, before dropout and conv_seg). Recipes that
# distil the logits instead re-point both recorders at `decode_head.conv_seg`. Pair files set the channels.
custom_imports = dict(imports=['dfd_razor'], allow_failed_imports=False)

decode_head_teacher = dict(
    _scope_='mmrazor',
    type='CheckedSingleTeacherDistill',
    distiller=dict(
        type='MultiLevelDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')),
        levels=dict(name='head', indices=None)))
