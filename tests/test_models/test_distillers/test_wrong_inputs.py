"""Wrong input to a distillation recipe ends in one exception whose message names the key, level, module or shape,
and what to do (issue 41); docs/errors.md lists every case with its message, and this file holds the two together.

Each case is a CPU recipe of the BCCD pair with a few ``--cfg-options``; the model is built and runs one training
forward on a tiny batch (random teacher, unless the case is about the teacher). The expected messages are the
rows of docs/errors.md, written by hand: a change of a message shows up here as a row that no longer matches.
"""
import os.path as osp
import re

import pytest
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS

from testing_helpers import load_recipe, tiny_batch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
DOC = osp.join(ROOT, 'docs', 'errors.md')
RECIPE = 'recipes/cpu_demo/{}_fpn_retina-r18_retina-r18q_300i_bccd.py'
# a student FPN (and head) of 64 channels against the teacher's 128, nothing inherited
NARROW = {'model.architecture.neck.out_channels': 64, 'model.architecture.bbox_head.in_channels': 64,
          'model.architecture.bbox_head.feat_channels': 64, 'model.inherit_from_teacher': []}
# case -> (method, options)
CASES = {
    'dfd-alpha-string': ('dfd', {'model.distiller.levels.loss.alpha': '2e-5'}),
    'dfd-temperature': ('dfd', {'model.distiller.levels.loss.temperature': 0}),
    'dfd-hd-constraint': ('dfd', {'model.distiller.levels.loss.hd_constraint': 'l3'}),
    'dfd-transform-warmup': ('dfd', {'model.distiller.levels.loss.transform_warmup': 2}),
    'recorder-missing': ('dfd', {'model.distiller.student_recorders.feat.source': 'neck.nonesuch'}),
    'recorder-not-called': ('dfd', {'model.distiller.teacher_recorders.feat.source': 'bbox_head.retina_cls',
                                    'model.distiller.levels.indices': None}),
    'mapping-recorder': ('dfd', {'model.distiller.levels.inputs.t_feature.recorder': 'nonesuch'}),
    'level-index': ('dfd', {'model.distiller.levels.indices': [0, 1, 2, 3, 4, 5, 6, 7]}),
    'levels-unknown-key': ('dfd', {'model.distiller.levels.nonesuch': 1}),
    'loss-name': ('dfd', {'model.distiller.levels.loss_name': 'dfd'}),
    'levels-channels-count': ('dfd', {'model.distiller.levels.student_channels': [128, 128]}),
    'schedule-key': ('cwd', {'model.distiller.weight_schedule.until': 0.5}),
    'schedule-policy': ('cwd', {'model.distiller.weight_schedule.policy': 'step'}),
    'schedule-stop': ('cwd', {'model.distiller.weight_schedule.stop': 1.5}),
    'schedule-warmup-after-stop': ('cwd', {'model.distiller.weight_schedule.warmup': 0.6,
                                           'model.distiller.weight_schedule.stop': 0.5}),
    'dfd-connector-channels': ('dfd', {'model.distiller.levels.student_channels': 32}),
    'connector-channels': ('mgd', NARROW),
    'loss-shapes': ('cwd', NARROW),
    'loss-assertion': ('pkd', NARROW),
    'mse-channels': ('fitnet', NARROW),
    'inherit-nothing-fits': ('dfd', dict(NARROW, **{'model.inherit_from_teacher': ['neck']})),
    'teacher-unset': ('dfd', {'model.teacher_ckpt': None, 'model.allow_random_teacher': False}),
    'teacher-missing': ('dfd', {'model.teacher_ckpt': '/nonexistent/teacher.pth',
                                'model.allow_random_teacher': False}),
}


def raised(method, options):
    """``ExceptionType: message`` of building the case's model and running one training forward (None: none)."""
    opts = {'model.teacher_ckpt': None, 'model.allow_random_teacher': True}
    opts.update(options)
    try:
        cfg = load_recipe(osp.join(ROOT, RECIPE.format(method)), opts)
        init_default_scope(cfg.default_scope)
        model = MODELS.build(cfg.model)
        model.init_weights()
        data = model.data_preprocessor(tiny_batch('mmdet', size=64, batch_size=1, num_classes=3), True)
        model(**data, mode='loss')
    except Exception as e:  # noqa: BLE001  (what is raised is what is checked)
        return f'{type(e).__name__}: {e}'
    return None


def input_cell(method, options):
    """The case as docs/errors.md's second column writes it: the method, the options beyond NARROW's."""
    own = [f'`{k}={v!r}`' for k, v in options.items() if k not in NARROW or NARROW[k] != v]
    narrow = set(NARROW) <= set(options)
    return f'{method}: ' + ', '.join((['a narrow student (64-channel FPN)'] if narrow else []) + own)


def doc_rows():
    """case -> (input cell, message) of docs/errors.md's table."""
    rows = {}
    for line in open(DOC):
        m = re.fullmatch(r'\| `([\w-]+)` \| (.*) \| `(.*)` \|\n', line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def test_the_doc_lists_every_case_and_only_those():
    assert list(doc_rows()) == list(CASES)
    assert len(CASES) >= 20


@pytest.mark.parametrize('case', list(CASES))
def test_wrong_input_raises_the_documented_message(case):
    method, options = CASES[case]
    cell, message = doc_rows()[case]
    assert cell == input_cell(method, options)
    assert raised(method, options) == message
    assert '\n' not in message and 'AssertionError: ' not in message
