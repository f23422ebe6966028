# The PSPNet pair of ./pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py distilled on the logits instead of the
# decode head's feature: the output of decode_head.conv_seg (19 Cityscapes classes for both, no alignment), as
# MMRazor's cwd_logits_pspnet_r101-d8_pspnet_r18-d8 recipe and CWD's published segmentation setting.
_base_ = './pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py'
model = dict(
    distiller=dict(
        student_recorders=dict(feat=dict(source='decode_head.conv_seg')),
        teacher_recorders=dict(feat=dict(source='decode_head.conv_seg')),
        levels=dict(name='logits', student_channels=19, teacher_channels=19)))
