"""The RTMDet recipes against MMYOLO's own distillation configs (mmyolo::rtmdet/distillation/kd_*_neck_300e_coco.py).

Every DFD, PKD, MGD and CWD recipe of recipes/rtmdet is compared, as loaded, with the upstream config of its pair:
the same teacher config and checkpoint URL, the same student model (the upstream ``architecture.cfg_path``), the
same neck widths (upstream's connector channels), the same hooks in the same order (EMA, the stage-2 pipeline
switch at epoch 280, ``StopDistillHook`` at epoch 280) and ``find_unused_parameters``; the CWD recipes also take
upstream's CWD weight and temperature. What differs from upstream on purpose (where the maps are tapped and how
they are normalised, recipes/rtmdet/README.md) is asserted too, so that the README cannot go stale silently.

The ``cwd-mmyolo`` recipes are upstream's configs themselves, with our checked algorithm: loaded, they equal
upstream's key for key but for the algorithm type, ``custom_imports`` (which registers it) and the student written
out instead of named by ``cfg_path`` (the same model; ``_scope_`` tags, which inheriting through ``mmyolo::`` adds,
aside).
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.hub import get_config
from mmrazor.models.algorithms import FpnTeacherDistill
from mmrazor.registry import MODELS

import dfd_razor  # noqa: F401  (registers CheckedFpnTeacherDistill)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
UPSTREAM = {  # our pair -> MMYOLO's distillation config of it
    'rtmdet-x_rtmdet-l': 'kd_l_rtmdet_x_neck_300e_coco.py',
    'rtmdet-l_rtmdet-m': 'kd_m_rtmdet_l_neck_300e_coco.py',
    'rtmdet-m_rtmdet-s': 'kd_s_rtmdet_m_neck_300e_coco.py',
    'rtmdet-s_rtmdet-tiny': 'kd_tiny_rtmdet_s_neck_300e_coco.py',
}
# our recipes (neck outputs, MultiLevelDistiller), and upstream's own recipe with our algorithm (cwd-mmyolo)
MMYOLO_RECIPES = sorted(glob.glob(osp.join(ROOT, 'recipes', 'rtmdet', 'cwd-mmyolo_neck_*.py')))
RECIPES = sorted(p for p in glob.glob(osp.join(ROOT, 'recipes', 'rtmdet', '*_neck_*.py')) if p not in MMYOLO_RECIPES)


def _plain(node):
    """Plain containers without ``_scope_`` (inheriting through ``mmyolo::`` adds it to every dict)."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    return node


def _pair(path):
    return osp.basename(path).split('_', 2)[2].rsplit('_300e_coco.py', 1)[0]


def _upstream(path):
    return Config.fromfile(osp.join(osp.dirname(__import__('mmyolo').__file__), '.mim', 'configs', 'rtmdet',
                                    'distillation', UPSTREAM[_pair(path)]))


def test_every_upstream_pair_has_the_four_methods_and_upstreams_recipe():
    assert sorted({_pair(p) for p in RECIPES}) == sorted(UPSTREAM)
    for pair in UPSTREAM:
        assert sorted(osp.basename(p).split('_')[0] for p in RECIPES if _pair(p) == pair) == \
            ['cwd', 'dfd', 'mgd', 'pkd']
    assert sorted(_pair(p) for p in MMYOLO_RECIPES) == sorted(UPSTREAM)


@pytest.mark.parametrize('path', MMYOLO_RECIPES, ids=osp.basename)
def test_mmyolo_recipe_is_upstreams_config_with_the_checked_algorithm(path):
    """Loaded, a cwd-mmyolo recipe is upstream's config key for key, recorders, connectors, losses, mappings,
    teacher and checkpoint, hooks, schedule and data included, but for three things: the algorithm type, the
    ``custom_imports`` that registers it, and the student model written out where upstream names it by
    ``cfg_path`` (the model ``mmengine.hub.get_model`` builds from it, in the same scope)."""
    ours, theirs = Config.fromfile(path).to_dict(), _upstream(path).to_dict()
    assert set(ours) == set(theirs) | {'custom_imports'}
    assert ours['custom_imports'] == dict(imports=['dfd_razor'], allow_failed_imports=False)
    for key in theirs:
        if key != 'model':
            assert _plain(ours[key]) == _plain(theirs[key]), key
    ours_model, theirs_model = dict(ours['model']), dict(theirs['model'])
    assert set(ours_model) == set(theirs_model)
    # the algorithm: ours, in MMRazor's registry and scope, is upstream's FpnTeacherDistill with the teacher checks
    assert (ours_model.pop('type'), theirs_model.pop('type')) == ('CheckedFpnTeacherDistill', 'FpnTeacherDistill')
    assert issubclass(MODELS.get('CheckedFpnTeacherDistill'), FpnTeacherDistill)
    assert ours_model['_scope_'] == theirs_model['_scope_'] == 'mmrazor'
    # the student: the model upstream's cfg_path names, built in that package's scope as get_model builds it
    architecture, cfg_path = ours_model.pop('architecture'), theirs_model.pop('architecture')['cfg_path']
    assert architecture.pop('_scope_') == cfg_path.split('::')[0] == 'mmyolo'
    assert _plain(architecture) == _plain(get_config(cfg_path).model.to_dict())
    # everything else of the model, the distiller above all, as upstream
    assert ours_model == theirs_model
    distiller = ours_model['distiller']
    assert {r['source'] for r in distiller['student_recorders'].values()} == \
        {f'neck.out_layers.{i}.conv' for i in range(3)}
    assert {c['type'] for c in distiller['connectors'].values()} == {'ConvModuleConnector', 'NormConnector'}
    # the collate function is restated as upstream has it: no _scope_, which the Runner would hand to the function
    assert ours['train_dataloader']['collate_fn'] == theirs['train_dataloader']['collate_fn'] == \
        dict(type='yolov5_collate')


@pytest.mark.parametrize('path', RECIPES, ids=osp.basename)
def test_recipe_keeps_upstream_pair_and_hooks(path):
    ours, theirs = Config.fromfile(path), _upstream(path)
    assert ours.model.teacher.cfg_path == theirs.model.teacher.cfg_path
    assert ours.model.teacher_ckpt == theirs.model.teacher_ckpt
    student = get_config(theirs.model.architecture.cfg_path).model
    assert _plain(ours.model.architecture) == _plain(student)
    # the widths upstream's connectors map between: student neck -> teacher neck, at every level
    levels = ours.model.distiller.levels
    for i in range(3):
        connector = theirs.model.distiller.connectors[f'fpn{i}_s']
        assert (levels.student_channels, levels.teacher_channels) == (connector.in_channel, connector.out_channel)
    # EMA, the stage-2 pipeline switch and the end of distillation, as upstream: same hooks, same epochs, same
    # pipeline; distillation stops where the stage-2 pipeline starts (epoch 280 of 300)
    assert _plain(ours.custom_hooks) == _plain(theirs.custom_hooks)
    switch, stop = ours.custom_hooks[1], ours.custom_hooks[2]
    assert (switch.type, stop.type) == ('mmdet.PipelineSwitchHook', 'mmrazor.StopDistillHook')
    assert switch.switch_epoch == stop.stop_epoch == 280 == ours.train_cfg.max_epochs - 20
    assert not any(t['type'].endswith('Mosaic') for t in switch.switch_pipeline)
    assert ours.find_unused_parameters is theirs.find_unused_parameters is True
    # on purpose different from upstream (README): our levels tap the neck outputs, upstream the convs before
    # the outputs' BN and SiLU
    assert ours.model.distiller.student_recorders.feat.source == 'neck'
    assert {r.source for r in theirs.model.distiller.student_recorders.values()} == \
        {f'neck.out_layers.{i}.conv' for i in range(3)}


@pytest.mark.parametrize('path', [p for p in RECIPES if osp.basename(p).startswith('cwd_')], ids=osp.basename)
def test_cwd_recipe_takes_upstream_weight_and_temperature(path):
    ours, theirs = Config.fromfile(path), _upstream(path)
    upstream_losses = list(theirs.model.distiller.distill_losses.values())
    assert all(loss.type == 'ChannelWiseDivergence' for loss in upstream_losses)
    # ChannelWiseDivergence's defaults: tau=1.0, loss_weight=1.0 (upstream leaves tau at its default)
    assert {(loss.get('tau', 1.0), loss.get('loss_weight', 1.0)) for loss in upstream_losses} == {(1.0, 1.0)}
    loss = ours.model.distiller.levels.loss
    assert (loss.type, loss.tau, loss.loss_weight) == ('ChannelWiseDivergence', 1, 1)
    # on purpose different (README): upstream normalises both maps by a BN without affine parameters before the
    # loss; ours aligns the student map with a plain 1x1 conv, as every *_align method file does
    assert set(ours.model.distiller.levels.connectors) == {'align'}
    assert {c.type for c in theirs.model.distiller.connectors.values()} == {'ConvModuleConnector', 'NormConnector'}
