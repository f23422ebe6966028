"""Every recipe under recipes/ is built and trained for one iteration on CPU, offline.

Recipes are discovered, never listed: a new recipe is covered without touching this file. The teacher checkpoint
is one this test makes from the teacher's config, passed as `model.teacher_ckpt=<path>`, the override a user
passes on the command line; backbone downloads are switched off the same way (`model.architecture=...`).

Per task, the batch is what that codebase's dataloader hands the model (`testing_helpers.tiny_batch`). What a
Runner would otherwise provide is set here: the current epoch in the MessageHub (MMYOLO's YOLOv6 head picks its
assigner by epoch). MMSeg recipes that pad every batch to their training crop (`data_preprocessor.size`, 512x512)
pad the tiny batch to its own size instead, which only saves time.
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS

from dfd_razor.doctor import diagnose
from testing_helpers import (discover, load_recipe, make_teacher_checkpoint, model_num_classes, offline_options,
                               recipe_loads_masks, recipe_task, tiny_batch)

ROOT = osp.join(osp.dirname(__file__), '..', '..')
RECIPES = discover(osp.join(ROOT, 'recipes'))
SIZE = 128
_TEACHERS = {}


def teacher_ckpt(cfg, tmp_dir):
    key = str(cfg.model.teacher)
    if key not in _TEACHERS:
        _TEACHERS[key] = make_teacher_checkpoint(cfg, osp.join(tmp_dir, f'teacher{len(_TEACHERS)}.pth'))
    return _TEACHERS[key]


@pytest.fixture(scope='module')
def ckpt_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('teachers'))


def test_recipes_are_discovered():
    assert len(RECIPES) >= 5


@pytest.mark.parametrize('path', RECIPES, ids=lambda p: osp.relpath(p, osp.join(ROOT, 'recipes')))
def test_recipe_trains_one_iteration(path, ckpt_dir):
    cfg = load_recipe(path)
    options = offline_options(cfg)
    distill = 'teacher' in cfg.model
    if distill:
        options['model.teacher_ckpt'] = teacher_ckpt(cfg, ckpt_dir)
    cfg = load_recipe(path, options)
    task = recipe_task(cfg)
    init_default_scope(task)
    MessageHub.get_current_instance().update_info('epoch', 0)
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner does for a model config without one
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    student = model.student if distill else model
    with_mask = getattr(student, 'with_mask', False) or recipe_loads_masks(cfg)
    num_classes = model_num_classes(student)  # labels the head can predict (None: the task's default)
    if task == 'mmseg' and getattr(model.data_preprocessor, 'size', None) is not None:
        model.data_preprocessor.size = (SIZE, SIZE)
    params = [p for n, p in model.named_parameters() if p.requires_grad]
    optim = OptimWrapper(torch.optim.SGD(params, lr=1e-3, momentum=0.9))
    before = copy.deepcopy(student.state_dict())
    batch = tiny_batch(task, size=SIZE, batch_size=2, with_mask=with_mask, num_classes=num_classes)
    log_vars = model.train_step(batch, optim)
    assert torch.isfinite(log_vars['loss'])
    assert any(not torch.equal(v, student.state_dict()[k]) for k, v in before.items() if v.is_floating_point())
    if distill:
        distill_terms = [k for k in log_vars if k.startswith('distill.')]
        assert distill_terms, f'{path}: no distillation loss in {sorted(log_vars)}'
        assert all(torch.isfinite(torch.as_tensor(log_vars[k])) for k in distill_terms)
        # the doctor's checks (tools/inspect_distill.py): every term non-zero and finite, its gradient reaches the
        # student module it taps, every connector trains, the teacher gets no gradient and was loaded
        batch = tiny_batch(task, size=SIZE, batch_size=2, with_mask=with_mask, num_classes=num_classes)
        report = diagnose(model, model.data_preprocessor(batch, True), teacher=model.teacher_source)
        assert not report.problems, f'{path}:\n{report.table()}'
        assert report.taps and all(t.ok for t in report.taps), f'{path}: a tapped map the head does not read:\n' \
            + report.table()
        assert report.teacher.startswith(f'{len(model.teacher.state_dict())}/{len(model.teacher.state_dict())} ')
