"""tools/export_student.py for each task family: the exported student, loaded by the task's own API with the
exported config, gives the outputs of the distillation model's student on the same input."""
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS

from testing_helpers import load_recipe, make_teacher_checkpoint, offline_options
from tools_helpers import ROOT, run

CASES = {
    'mmdet': 'recipes/cpu_demo/dfd_fpn_retina-r18_retina-r18half_500i_tinycoco.py',
    'mmseg': 'recipes/cpu_demo/dfd_head_pspnet-r18_pspnet-r18half_800i_camvid.py',
    'mmpose': 'recipes/pose/dfd_backbone_td-hm-r50_td-hm-mbv2_210e_coco-256x192.py',
    'mmyolo': 'recipes/yolov6/dfd_neck_yolov6-s_yolov6-t_300e_coco.py',
}
INPUT = {'mmdet': (1, 3, 128, 128), 'mmseg': (1, 3, 96, 128), 'mmpose': (1, 3, 256, 192), 'mmyolo': (1, 3, 128, 128)}


def native_model(task, config, checkpoint):
    if task in ('mmdet', 'mmyolo'):
        from mmdet.apis import init_detector
        return init_detector(config, checkpoint, device='cpu')
    if task == 'mmseg':
        from mmseg.apis import init_model
        return init_model(config, checkpoint, device='cpu')
    from mmpose.apis import init_model
    return init_model(config, checkpoint, device='cpu')


def flatten(out):
    if torch.is_tensor(out):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in flatten(o)]
    raise TypeError(type(out))


@pytest.mark.parametrize('task', sorted(CASES))
def test_exported_student_matches_the_distilled_one(task, tmp_path):
    recipe = osp.join(ROOT, CASES[task])
    cfg = load_recipe(recipe)
    teacher = make_teacher_checkpoint(cfg, str(tmp_path / 'teacher.pth'))
    options = dict(offline_options(cfg), **{'model.teacher_ckpt': teacher})
    cfg = load_recipe(recipe, options)
    init_default_scope(cfg.default_scope)
    algo = MODELS.build(cfg.model)
    algo.init_weights()
    with torch.no_grad():  # make the student's weights differ from any initialisation
        for p in algo.student.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    ckpt = str(tmp_path / 'distill.pth')
    torch.save({'state_dict': algo.state_dict(), 'meta': {}}, ckpt)
    out = str(tmp_path / 'export' / 'student.pth')
    run(['tools/export_student.py', recipe, ckpt, out])
    exported = torch.load(out, map_location='cpu', weights_only=True)['state_dict']
    assert not any(k.startswith(('teacher.', 'distiller.', 'architecture.')) for k in exported)
    model = native_model(task, str(tmp_path / 'export' / 'student_config.py'), out)
    algo.eval()
    torch.manual_seed(0)
    x = torch.randn(INPUT[task])  # an already normalised batch: both models get the same tensor
    with torch.no_grad():
        expected = flatten(algo.student(x, None, mode='tensor'))
        got = flatten(model(x, None, mode='tensor'))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
