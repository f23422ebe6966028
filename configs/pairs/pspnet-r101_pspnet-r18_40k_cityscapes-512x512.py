# Table 7 (segmentation): PSPNet R101-d8 (MMSeg zoo, 512x1024 crops, 40k: 78.34 mIoU, the paper's teacher) ->
# PSPNet R18-d8, Cityscapes, 512x512 crops, 40k iterations (./pspnet-r18_40k_cityscapes-512x512.py). Distilled: the
# decode head's fused feature (PSPHead.bottleneck, 512 vs 128 channels at stride 8: methods need their *_align
# variant); the *_logits.py pair taps the logits instead. No inheriting strategy: the heads differ in width.
_base_ = ['./pspnet-r18_40k_cityscapes-512x512.py', '../algorithms/decode_head_teacher.py']
teacher_ckpt = 'https://download.openmmlab.com/mmsegmentation/v0.5/pspnet/pspnet_r101-d8_512x1024_40k_cityscapes/pspnet_r101-d8_512x1024_40k_cityscapes_20200604_232751-467e7cf4.pth'  # noqa: E501
model = _base_.decode_head_teacher
model.update(
    _delete_=True,
    architecture=_base_.model,
    teacher=dict(cfg_path='mmseg::pspnet/pspnet_r101-d8_4xb2-40k_cityscapes-512x1024.py', pretrained=False),
    teacher_ckpt=teacher_ckpt)
model.distiller.levels.update(student_channels=128, teacher_channels=512)
