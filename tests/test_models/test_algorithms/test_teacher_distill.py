"""CheckedFpnTeacherDistill through a shipped recipe: never a random teacher, and inheritance in init_weights only.

The recipe is built exactly as ``tools/train.py`` builds it, with the overrides a user would pass
(``--cfg-options model.teacher_ckpt=...``); backbones start from random weights instead of downloading theirs.
The teacher checkpoint is made here from the teacher's config, standing in for the model-zoo file.
"""
import copy
import inspect
import os.path as osp
import re

import pytest
import torch
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner import Runner
from mmrazor.registry import MODELS

from testing_helpers import load_recipe, make_teacher_checkpoint, offline_model_cfg, offline_options

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
RECIPE = osp.join(ROOT, 'recipes', 'retinanet', 'dfd_fpn_retina-x101_retina-r50_1x_coco.py')
INHERITED = ['neck', 'bbox_head']  # configs/pairs/retina-x101_retina-r50_1x_coco.py


def recipe_cfg(teacher_ckpt):
    cfg = load_recipe(RECIPE)
    options = offline_options(cfg)
    options['model.teacher_ckpt'] = teacher_ckpt
    return load_recipe(RECIPE, options)


def build(teacher_ckpt):
    cfg = recipe_cfg(teacher_ckpt)
    init_default_scope(cfg.default_scope)
    return MODELS.build(cfg.model)


def same_tensors(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope='module', autouse=True)
def restore_default_scope():
    """Building a recipe sets mmengine's global default scope (init_default_scope, Runner), as tools/train.py does.
    Later tests must not inherit it: restore the scopes as mmengine's own ``overwrite_default_scope`` does."""
    saved = copy.copy(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict = saved


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('teacher') / 'retinanet_x101-64x4d.pth')
    return make_teacher_checkpoint(load_recipe(RECIPE), path)


def test_recipe_inherits_what_this_file_expects():
    assert list(load_recipe(RECIPE).model.inherit_from_teacher) == INHERITED


def test_missing_teacher_checkpoint_is_an_error(tmp_path):
    path = str(tmp_path / 'no_such_teacher.pth')
    with pytest.raises(FileNotFoundError, match=re.escape(path)):
        build(path)


def test_checkpoint_of_another_architecture_is_an_error(tmp_path):
    """A RetinaNet R50 checkpoint for the ResNeXt101 teacher: missing blocks and mis-shaped layers, all named."""
    cfg = load_recipe(RECIPE)
    init_default_scope(cfg.default_scope)
    other = MODELS.build(offline_model_cfg(cfg.model.architecture))
    path = str(tmp_path / 'retinanet_r50.pth')
    torch.save({'state_dict': other.state_dict()}, path)
    with pytest.raises(ValueError) as info:
        build(path)
    message = str(info.value)
    assert path in message
    assert 'missing: backbone.layer3.6.conv1.weight' in message  # R50's layer3 has 6 blocks, X101's 23
    assert re.search(r'shape: backbone\.layer1\.0\.conv1\.weight: checkpoint \(64, 64, 1, 1\) vs \w+ \(256, 64, 1, 1\)',
                     message), message


@pytest.mark.parametrize('value', [None, ''])
def test_unset_teacher_checkpoint_is_an_error(value):
    with pytest.raises(ValueError, match='model.teacher_ckpt is not set'):
        build(value)


def test_teacher_is_loaded_and_inheritance_happens_in_init_weights(teacher_ckpt):
    model = build(teacher_ckpt)
    saved = torch.load(teacher_ckpt, map_location='cpu')['state_dict']
    teacher_state = model.teacher.state_dict()
    assert all(torch.equal(v, saved[k]) for k, v in teacher_state.items())
    for name in INHERITED:  # building alone inherits nothing
        assert not same_tensors(model.student.get_submodule(name), model.teacher.get_submodule(name)), name
    model.init_weights()
    for name in INHERITED:
        assert same_tensors(model.student.get_submodule(name), model.teacher.get_submodule(name)), name
    # init_weights does not re-initialise the loaded teacher, and copies only the named submodules: the stems of
    # both backbones have the same name and shape, and stay different
    assert all(torch.equal(v, saved[k]) for k, v in model.teacher.state_dict().items())
    assert model.student.backbone.conv1.weight.shape == model.teacher.backbone.conv1.weight.shape
    assert not torch.equal(model.student.backbone.conv1.weight, model.teacher.backbone.conv1.weight)


def test_load_from_checkpoint_wins_over_inheritance(teacher_ckpt, tmp_path):
    """A run started with ``load_from`` (or ``--resume``) keeps the checkpoint's student, not the teacher's copy.

    Runner.train calls ``_init_model_weights()`` (our inheritance) and then ``load_or_resume()`` (load_from and
    resume alike); the test makes those two calls on a Runner built from the recipe, and checks that Runner.train
    still calls them in that order.
    """
    source = inspect.getsource(Runner.train)
    assert source.index('self._init_model_weights()') < source.index('self.load_or_resume()')

    model = build(teacher_ckpt)
    state = model.state_dict()
    marked = {k: torch.full_like(v, 0.25) for k, v in state.items()
              if k.startswith(tuple(f'architecture.{n}.' for n in INHERITED)) and v.is_floating_point()}
    assert marked
    state.update(marked)
    previous_run = str(tmp_path / 'epoch_3.pth')
    torch.save({'state_dict': state, 'meta': {}}, previous_run)

    cfg = recipe_cfg(teacher_ckpt)
    cfg.work_dir = str(tmp_path / 'work_dir')
    cfg.load_from = previous_run
    runner = Runner.from_cfg(cfg)
    runner._init_model_weights()
    runner.load_or_resume()
    loaded = runner.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in marked.items())
    teacher = runner.model.teacher
    for name in INHERITED:
        assert not same_tensors(runner.model.student.get_submodule(name), teacher.get_submodule(name)), name


def test_log_carries_the_distill_sum_its_ratio_and_the_teacher_source(tmp_path):
    from testing_helpers import tiny_batch
    recipe = osp.join(ROOT, 'recipes', 'cpu_demo', 'dfd_fpn_retina-r18_retina-r18q_300i_bccd.py')
    ckpt = make_teacher_checkpoint(load_recipe(recipe), str(tmp_path / 'teacher.pth'))
    cfg = load_recipe(recipe, {'model.teacher_ckpt': ckpt})
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.init_weights()
    n = len(model.teacher.state_dict())
    assert model.teacher_source == f'{n}/{n} tensors from {ckpt}'
    data = model.data_preprocessor(tiny_batch('mmdet', size=96, batch_size=2, num_classes=3), True)
    losses = model(**data, mode='loss')
    distill = sum(float(v) for k, v in losses.items() if k.startswith('distill.loss'))
    task = sum(float(v if torch.is_tensor(v) else sum(x.mean() for x in v)) for k, v in losses.items()
               if 'loss' in k and not k.startswith('distill.'))
    assert task > 0 and distill > 0
    assert float(losses['distill.sum']) == pytest.approx(distill, rel=1e-5)
    assert float(losses['distill.ratio']) == pytest.approx(distill / task, rel=1e-5)
    assert not losses['distill.sum'].requires_grad and 'loss' not in 'distill.sum distill.ratio'


def small_teacher() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))


@pytest.mark.parametrize('bare', [False, True])
@pytest.mark.parametrize('prefixed', [False, True])
def test_bare_and_module_prefixed_teacher_checkpoints_load_and_say_so(tmp_path, monkeypatch, bare, prefixed):
    """A state_dict saved without the 'state_dict' key, or from a DataParallel/DDP wrapper (keys 'module.*'), is the
    teacher all the same; the log says which of the two it read and how many keys lost the prefix."""
    from dfd_razor.models.algorithms import teacher_distill
    logged = []
    monkeypatch.setattr(teacher_distill, 'print_log', lambda msg, **kwargs: logged.append(msg))
    source = small_teacher()
    state = {('module.' if prefixed else '') + k: v for k, v in source.state_dict().items()}
    path = str(tmp_path / 'teacher.pth')
    torch.save(state if bare else {'state_dict': state, 'meta': {}}, path)
    teacher = small_teacher()
    assert teacher_distill.load_teacher_strictly(teacher, path) == (len(state), len(state))
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in teacher.state_dict().items())
    n = len(state)
    assert (f"teacher checkpoint {path}: no 'state_dict' key, read as a bare state_dict ({n} entries)"
            in logged) == bare
    assert (f"teacher checkpoint {path}: stripped the 'module.' prefix (DataParallel/DDP) from {n} of {n} keys"
            in logged) == prefixed


@pytest.mark.parametrize('content', [b'', b'not a checkpoint\n', 'truncated'])
def test_unreadable_teacher_checkpoint_is_one_error_naming_key_and_file(tmp_path, content):
    from dfd_razor.errors import RecipeError
    from dfd_razor.models.algorithms.teacher_distill import load_teacher_strictly
    path = str(tmp_path / 'teacher.pth')
    if content == 'truncated':
        torch.save({'state_dict': small_teacher().state_dict()}, path)
        data = open(path, 'rb').read()
        content = data[:len(data) // 2]
    with open(path, 'wb') as f:
        f.write(content)
    with pytest.raises(ValueError) as info:
        load_teacher_strictly(small_teacher(), path)
    assert isinstance(info.value, RecipeError)
    message = str(info.value)
    assert message.startswith(f'model.teacher_ckpt: {path} is not a readable checkpoint') and '\n' not in message


@pytest.mark.parametrize('recipe', ['dfd_fpn_retina-r18_retina-r18q_300i_bccd.py',
                                    'dfd_fpn_retina-r18_retina-r18half_500i_tinycoco.py',
                                    'dfd_head_pspnet-r18_pspnet-r18q_200i_camvid.py',
                                    'dfd_neck_yolov6-t_yolov6-n_300i_bccd.py',
                                    'dfd_backbone_td-hm-r18_td-hm-r18half_800i_minicoco.py'])
def test_the_cpu_recipes_log_distill_sum_as_the_sum_of_the_logged_terms(recipe):
    """Issue 41: a log showed distill.sum 0.8696 beside terms 0.5592 + 0.2745. mmengine averages the keys its
    mean_pattern matches (losses, times) over the log window and shows others' current value; the CPU recipes'
    pattern averages distill.sum and distill.ratio too. Fed the iterations the train loop records, their log line's
    sum is the sum of its terms; with mmengine's default pattern it is the last iteration's sum."""
    from types import SimpleNamespace
    from mmengine.logging import MessageHub
    from mmengine.runner import LogProcessor
    cfg = load_recipe(osp.join(ROOT, 'recipes', 'cpu_demo', recipe)).log_processor
    hub = MessageHub.get_instance('test_distill_sum_window')
    a, b = [0.9, 0.5, 0.7, 0.3], [0.2, 0.4, 0.1, 0.3]
    for x, y in zip(a, b):
        for key, value in (('distill.loss_a', x), ('distill.loss_b', y), ('distill.sum', x + y),
                           ('student.loss_cls', 1.0), ('distill.ratio', x + y)):
            hub.update_scalar(f'train/{key}', value)
    runner = SimpleNamespace(message_hub=hub)
    args = dict({k: v for k, v in cfg.items() if k not in ('type', '_scope_')}, window_size=4)
    shown = LogProcessor(**args)._collect_scalars([], runner, 'train')
    assert shown['distill.sum'] == pytest.approx(shown['distill.loss_a'] + shown['distill.loss_b'])
    assert shown['distill.sum'] == pytest.approx((sum(a) + sum(b)) / 4)
    assert shown['distill.ratio'] == pytest.approx((sum(a) + sum(b)) / 4)
    default = LogProcessor(window_size=4)._collect_scalars([], runner, 'train')
    assert default['distill.sum'] == pytest.approx(a[-1] + b[-1])  # the current value: not the terms' sum
    assert default['distill.sum'] != pytest.approx(default['distill.loss_a'] + default['distill.loss_b'])


def test_the_first_training_iteration_logs_what_distill_sum_holds(tmp_path):
    from mmengine.logging import MMLogger
    from testing_helpers import tiny_batch
    from dfd_razor.models.algorithms.teacher_distill import SUM_NOTE
    recipe = osp.join(ROOT, 'recipes', 'cpu_demo', 'dfd_fpn_retina-r18_retina-r18q_300i_bccd.py')
    cfg = load_recipe(recipe, {'model.teacher_ckpt': None, 'model.allow_random_teacher': True})
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    MMLogger.get_instance('test_sum_note', log_file=str(tmp_path / 'log.txt'))  # the current logger from here
    for _ in range(2):
        data = model.data_preprocessor(tiny_batch('mmdet', size=64, batch_size=1, num_classes=3), True)
        model(**data, mode='loss')
    assert open(tmp_path / 'log.txt').read().count(SUM_NOTE) == 1
