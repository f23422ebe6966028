# MMYOLO's own distillation of RTMDet-x -> RTMDet-L (mmyolo::rtmdet/distillation/kd_l_rtmdet_x_neck_300e_coco.py, 52.3
# box AP in MMYOLO's zoo), as published but for the algorithm: our CheckedFpnTeacherDistill, which refuses to train
# without its teacher checkpoint and logs how much of the teacher it loaded, instead of MMRazor's FpnTeacherDistill. The
# rest is upstream's: CWD on neck.out_layers.{0,1,2}.conv, both maps normalised by a BN without affine parameters or
# running statistics, teacher checkpoint, student config, schedule, hooks. tests/test_recipes/test_rtmdet_upstream.py
# compares the loaded config with upstream's key for key.
_base_ = 'mmyolo::rtmdet/distillation/kd_l_rtmdet_x_neck_300e_coco.py'
custom_imports = dict(imports=['dfd_razor'], allow_failed_imports=False)  # registers the algorithm (and compat fixes)
from mmengine.hub import get_config  # noqa: E402

# The student written out, built in the mmyolo scope as mmengine's get_model builds upstream's
# `architecture=dict(cfg_path=...)`: the same model, but one that --cfg-options can reach, as in every other recipe
# (model.architecture.backbone.init_cfg=None: no ImageNet download for the S and tiny students, offline).
model = dict(type='CheckedFpnTeacherDistill',
             architecture=dict(_delete_=True, _scope_='mmyolo',
                               **get_config(_base_.model.architecture.cfg_path).model))
# inheriting through `mmyolo::` tags every dict with _scope_='mmyolo', and the Runner passes all keys of collate_fn
# but `type` to the function, which rejects _scope_: restated as upstream has it
train_dataloader = dict(collate_fn=dict(_delete_=True, type='yolov5_collate'))
