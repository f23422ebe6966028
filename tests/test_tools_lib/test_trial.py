"""dfd_razor_tools.trial: what --data and --random-teacher change, and the lines that say so (issue 41)."""
import argparse
import os.path as osp

from mmengine.config import Config

import dfd_razor  # noqa: F401
from dfd_razor_tools.trial import add_random_teacher_hook, apply_trial_options
from testing_helpers import load_recipe

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
PSPNET = osp.join(ROOT, 'recipes', 'pspnet', 'dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py')


def swap(options):
    cfg = load_recipe(PSPNET, options)
    args = argparse.Namespace(offline=True, data='camvid', data_root=None)
    lines = [line for line in apply_trial_options(cfg, args, options) if 'num_classes' in line]
    return cfg, lines


def test_data_reports_the_class_counts_it_sets():
    cfg, lines = swap({})
    assert lines == ['--data camvid: model.architecture.decode_head.num_classes 19 -> 11 (11 classes)',
                     '--data camvid: model.architecture.auxiliary_head.num_classes 19 -> 11 (11 classes)']
    assert cfg.model.architecture.decode_head.num_classes == 11


def test_a_class_count_that_cfg_options_set_is_reported_as_theirs():
    """--cfg-options are merged again after --data (an override wins): the line says so, not what --data set."""
    options = {'model.architecture.decode_head.num_classes': 5}
    cfg, lines = swap(options)
    heads = cfg.model.architecture
    assert heads.decode_head.num_classes == 5 and heads.auxiliary_head.num_classes == 11
    assert lines == ['--data camvid: model.architecture.decode_head.num_classes stays 5 (--cfg-options sets it; '
                     '--data alone would set 11)',
                     '--data camvid: model.architecture.auxiliary_head.num_classes 19 -> 11 (11 classes)']


def test_the_random_teacher_hook_comes_with_its_import():
    cfg = Config(dict(custom_imports=dict(imports=['dfd_razor'], allow_failed_imports=False),
                      custom_hooks=[dict(type='EMAHook')]))
    add_random_teacher_hook(cfg)
    assert cfg.custom_hooks == [dict(type='EMAHook'), dict(type='RandomTeacherHook')]
    assert cfg.custom_imports.imports == ['dfd_razor', 'dfd_razor_tools.hooks']
    bare = Config(dict())
    add_random_teacher_hook(bare)  # no custom_imports at all: one is written
    assert bare.custom_imports.imports == ['dfd_razor_tools.hooks'] and not bare.custom_imports.allow_failed_imports
