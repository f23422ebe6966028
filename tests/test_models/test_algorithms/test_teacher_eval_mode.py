from mmrazor.registry import MODELS
from torch import nn

from testing_helpers import load_recipe, offline_model_cfg

RECIPE = 'recipes/cpu_demo/cwd_head_pspnet-r18_pspnet-r18half_800i_camvid.py'


def test_frozen_teacher_runs_in_eval_mode_dropout_included():
    cfg = load_recipe(RECIPE)
    cfg.model.teacher = offline_model_cfg(cfg.model.teacher)
    cfg.model.architecture = offline_model_cfg(cfg.model.architecture)
    cfg.model.update(teacher_ckpt=None, allow_random_teacher=True)
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    algo = MODELS.build(cfg.model)
    algo.train()
    dropouts = [m for m in algo.teacher.modules() if isinstance(m, nn.Dropout2d)]
    assert dropouts and not any(m.training for m in dropouts)
    assert not any(m.training for m in algo.teacher.modules())
    assert algo.student.training and any(m.training for m in algo.student.modules() if isinstance(m, nn.Dropout2d))
