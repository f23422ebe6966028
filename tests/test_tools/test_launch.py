"""dfd_razor_tools.launch.distill_part, which tools/test.py (--teacher) and tools/export_student.py share: a
distillation recipe's student or teacher as a model config, MMRazor's cfg_path form read from the file it names."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.utils import get_installed_path

from dfd_razor.errors import RecipeError
from dfd_razor_tools.launch import distill_part
from tools_helpers import ROOT

DEMO = osp.join(ROOT, 'recipes', 'cpu_demo', 'dfd_fpn_retina-r18_retina-r18q_300i_bccd.py')
CFG_PATH_TEACHER = osp.join(ROOT, 'recipes', 'retinanet', 'dfd_fpn_retina-x101_retina-r50_1x_coco.py')


def _plain(node):
    return Config(dict(x=node)).to_dict()['x']


def test_inline_parts_are_the_recipe_s_own():
    cfg = Config.fromfile(DEMO)
    assert _plain(distill_part(cfg, 'architecture')) == _plain(cfg.model.architecture)
    assert _plain(distill_part(cfg, 'teacher')) == _plain(cfg.model.teacher)


def test_cfg_path_teacher_is_the_model_of_the_file_it_names():
    cfg = Config.fromfile(CFG_PATH_TEACHER)
    assert cfg.model.teacher.cfg_path == 'mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py'
    named = osp.join(get_installed_path('mmdet'), '.mim', 'configs', 'retinanet', 'retinanet_x101-64x4d_fpn_1x_coco.py')
    teacher = distill_part(cfg, 'teacher')
    assert _plain(teacher) == _plain(Config.fromfile(named).model)
    assert teacher.backbone.type == 'ResNeXt' and teacher.backbone.depth == 101


def test_a_plain_recipe_is_one_line_naming_the_key(tmp_path):
    path = tmp_path / 'plain.py'
    path.write_text("model = dict(type='RetinaNet')\n")
    cfg = Config.fromfile(str(path))
    with pytest.raises(RecipeError) as error:
        distill_part(cfg, 'teacher', '--teacher')
    assert str(error.value) == f'--teacher: {path} is not a distillation recipe (no model.teacher)'
    with pytest.raises(RecipeError) as error:
        distill_part(cfg, 'architecture')
    assert str(error.value) == f'{path} is not a distillation recipe (no model.architecture)'
