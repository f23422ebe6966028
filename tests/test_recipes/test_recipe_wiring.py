"""What a distillation recipe builds is what it promises: its data preprocessing, its DFD terms, its ablation switches.

- Every distillation recipe preprocesses its batches as its student does: the algorithm's *effective* data
  preprocessor (what mmengine's Runner and MMRazor make of the config) equals the plain student's.
- One DFD recipe per model family: the logged DFD terms are eqs. 5-6 recomputed here, in plain torch, from the
  recorded features, the recipe's alpha/beta and its connectors' outputs, with the HD mask of eqs. 2-4 computed here
  too (independently of ``dfd_razor.models``).
- Every ablation recipe configures the DFDLoss/DFDConnector switches its file name and its README row promise.

Everything but the DFD terms is compared on the loaded configs (``Config.fromfile``, inheritance resolved).
"""
import inspect
import math
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Tuple

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MessageHub
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import init_default_scope

from testing_helpers import discover, load_recipe, offline_options, tiny_batch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
RECIPES_DIR = osp.join(ROOT, 'recipes')
ABLATIONS = osp.join(RECIPES_DIR, 'ablations')


def _rel(path: str) -> str:
    return osp.relpath(path, RECIPES_DIR)


_CONFIGS: Dict[str, Config] = {}


def load(path: str) -> Config:
    if path not in _CONFIGS:
        _CONFIGS[path] = load_recipe(path)
    return _CONFIGS[path]


def plain(node: Any) -> Any:
    """Plain containers (tuples as lists) without ``_scope_``, which inheriting through ``mmseg::`` adds to dicts."""
    if isinstance(node, dict):
        return {k: plain(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [plain(v) for v in node]
    return node


def distill_recipes() -> List[str]:
    return [p for p in discover(RECIPES_DIR) if 'teacher' in load(p).model]


# ---- 1. the algorithm preprocesses as the student ------------------------------------------------------------------
def effective_algorithm_preprocessor(cfg: Config) -> Optional[Dict[str, Any]]:
    """The data preprocessor config a distillation algorithm of ``cfg`` is built with.

    mmengine's Runner gives the config's top-level ``data_preprocessor`` to a model config that has none
    (``model.setdefault('data_preprocessor', ...)``): every MMRazor algorithm config of this repository has none.
    When there is no top-level one either, MMRazor's ``BaseAlgorithm`` uses the architecture's own.
    """
    if cfg.model.get('data_preprocessor') is not None:
        return plain(cfg.model.data_preprocessor)
    if cfg.get('data_preprocessor') is not None:
        return plain(cfg.data_preprocessor)
    return plain(student_model(cfg).get('data_preprocessor'))


def student_model(cfg: Config) -> ConfigDict:
    architecture = cfg.model.architecture
    if 'cfg_path' in architecture:  # MMRazor's dict(cfg_path='mmdet::...') form
        from mmengine.hub import get_config
        return get_config(architecture['cfg_path']).model
    return architecture


def student_recipe(path: str) -> Optional[str]:
    """The plain-student recipe of a distillation recipe, where one exists anywhere under recipes/.

    Names are ``<method>_<tap>_<teacher>_<student>_<rest>``, and the student's ``student_<student>_<rest>``.
    """
    parts = osp.splitext(osp.basename(path))[0].split('_')
    if len(parts) < 5:
        return None
    name = 'student_' + '_'.join(parts[3:]) + '.py'
    found = [p for p in discover(RECIPES_DIR) if osp.basename(p) == name]
    return found[0] if found else None


def with_defaults(preprocessor: Optional[Dict[str, Any]], scope: str) -> Optional[Dict[str, Any]]:
    """``preprocessor`` with the defaults of its class filled in, so that ``pad_val=0`` and no ``pad_val`` compare
    equal when the class's default is 0."""
    if not preprocessor or 'type' not in preprocessor:
        return preprocessor
    with ROOT_MODELS.switch_scope_and_registry(scope) as registry:
        cls = registry.get(preprocessor['type'])
    if cls is None:
        return preprocessor
    full = {k: plain(p.default) for k, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}
    full.update(preprocessor)
    return full


def preprocessor_diff(a: Optional[Dict[str, Any]], b: Optional[Dict[str, Any]]) -> Dict[str, Tuple[Any, Any]]:
    a, b = a or {}, b or {}
    return {k: (a.get(k, '<unset>'), b.get(k, '<unset>')) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def test_student_recipes_are_found():
    """The name rule of :func:`student_recipe` finds the plain student of the paper recipes (the ablations'
    baseline is in recipes/retinanet, the extending example has none)."""
    pspnet = osp.join(RECIPES_DIR, 'pspnet', 'dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py')
    assert student_recipe(pspnet) == osp.join(RECIPES_DIR, 'pspnet', 'student_pspnet-r18_40k_cityscapes-512x512.py')
    assert student_recipe(osp.join(ABLATIONS, 'dfd-t11-l2_fpn_retina-x101_retina-r50_1x_coco.py')) \
        == osp.join(RECIPES_DIR, 'retinanet', 'student_retina-r50_1x_coco.py')
    found = [p for p in distill_recipes() if student_recipe(p)]
    assert len(found) >= len(distill_recipes()) - 2


@pytest.mark.parametrize('path', distill_recipes(), ids=_rel)
def test_algorithm_data_preprocessor_is_the_students(path):
    """The batches a distillation run trains on are normalised and padded as the plain student's: type, mean, std,
    channel order, pad size / size divisor, pad values (image, mask, segmentation)."""
    cfg = load(path)
    scope = cfg.get('default_scope', 'mmdet')
    algorithm = with_defaults(effective_algorithm_preprocessor(cfg), scope)
    references = [('model.architecture.data_preprocessor', plain(student_model(cfg).get('data_preprocessor')))]
    student = student_recipe(path)
    if student is not None:
        scfg = load(student)
        references.append((f'the student recipe {_rel(student)}',
                           plain(scfg.model.get('data_preprocessor') or scfg.get('data_preprocessor'))))
    for name, reference in references:
        diff = preprocessor_diff(algorithm, with_defaults(reference, scope))
        assert not diff, (f'{_rel(path)}: the algorithm\'s effective data preprocessor differs from {name} in '
                          f'{sorted(diff)}: ' + ', '.join(f'{k}: {a!r} vs {b!r}' for k, (a, b) in diff.items()))


def test_preprocessor_check_catches_the_pspnet_crop():
    """The PSPNet pair before its fix: the zoo's top-level preprocessor pads to 512x1024, the student to 512x512."""
    cfg = load(osp.join(RECIPES_DIR, 'pspnet', 'dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py'))
    broken = Config(cfg.to_dict())
    broken.data_preprocessor.size = (512, 1024)
    diff = preprocessor_diff(with_defaults(effective_algorithm_preprocessor(broken), 'mmseg'),
                             with_defaults(plain(broken.model.architecture.data_preprocessor), 'mmseg'))
    assert diff == {'size': ([512, 1024], [512, 512])}


# ---- 2. DFD terms are eqs. 5-6 ---------------------------------------------------------------------------------------
# One DFD recipe per model family: FPN one-stage detector, YOLOv6 (MMYOLO), top-down pose, PSPNet decode head, FPN
# two-stage detector.
DFD_FAMILIES = {
    'fpn-one-stage': 'retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py',
    'yolov6': 'yolov6/dfd_neck_yolov6-s_yolov6-t_300e_coco.py',
    'pose': 'pose/dfd_backbone_td-hm-r50_td-hm-mbv2_210e_coco-256x192.py',
    'pspnet': 'pspnet/dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py',
    'two-stage': 'faster_rcnn/dfd_fpn_faster-r101_faster-r50_1x_coco.py',
}
SIZE = 128
# The loss settings eqs. 2-6 describe (DFDLoss's arguments), which the recomputation below implements.
PAPER_SETTINGS = dict(hd_constraint='transform', ld_constraint='mse', split=True, strict_power=2.0, distance='l1',
                      threshold='mean', threshold_scope='sample', temperature=1.0, resize=None, normalize=False)


def effective_loss_args(loss: Dict[str, Any]) -> Dict[str, Any]:
    """A loss config with the defaults of its class filled in: the settings the loss runs with."""
    from mmrazor.registry import MODELS
    cls = MODELS.get(loss['type'])
    args = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}
    args.update({k: v for k, v in loss.items() if k != 'type'})
    return args


def attention(feat: torch.Tensor) -> torch.Tensor:
    """Eq. 2: A(F) = H W softmax over the H*W positions of the channel mean of |F|, per image, in float32."""
    n, _, h, w = feat.shape
    pooled = feat.detach().float().abs().sum(dim=1).div(feat.shape[1]).reshape(n, h * w)
    return (torch.softmax(pooled, dim=1) * (h * w)).reshape(n, h, w)


def high_disparity(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Eqs. 3-4: D = |A(F^T) - A(F^S)|, HD where D >= mean(D) of the image."""
    disparity = (attention(teacher) - attention(student)).abs()
    return disparity >= disparity.flatten(1).mean(dim=1)[:, None, None]


def region_sum(per_position: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Sum over channels and the region's positions, in float64."""
    return (per_position.double().sum(dim=1) * region.double()).sum()


def build_recipe(path: str):
    cfg = load_recipe(path)
    options = offline_options(cfg)
    # the numbers are compared, not learnt: a random teacher tests the same arithmetic as a trained one
    options.update({'model.teacher_ckpt': None, 'model.allow_random_teacher': True})
    cfg = load_recipe(path, options)
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    MessageHub.get_current_instance().update_info('epoch', 0)
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner does
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    from mmrazor.registry import MODELS
    model = MODELS.build(cfg.model)
    # the teacher keeps PyTorch's default initialisation: its init_cfg would download the zoo backbone
    model.teacher._is_init = True
    model.init_weights()
    model.train()
    if scope == 'mmseg':  # pad the tiny batch to its own size, not to the 512x512 training crop (time only)
        model.data_preprocessor.size = (SIZE, SIZE)
    return cfg, scope, model


@pytest.mark.parametrize('family', sorted(DFD_FAMILIES))
def test_logged_dfd_terms_are_eqs_5_and_6(family):
    path = osp.join(RECIPES_DIR, DFD_FAMILIES[family])
    cfg, scope, model = build_recipe(path)
    levels = cfg.model.distiller.levels
    args = effective_loss_args(levels.loss)
    assert levels.loss.type == 'DFDLoss', levels.loss.type
    unlike = {k: (args[k], v) for k, v in PAPER_SETTINGS.items() if args[k] != v}
    assert not unlike, f'{_rel(path)}: not the paper\'s DFD, which this test recomputes: {unlike}'
    alpha, beta = args['alpha'], args['beta']
    inputs = {k: v for k, v in levels.inputs.items() if v is not None}
    assert {'s_feature', 's_transformed', 't_feature'} <= set(inputs), sorted(inputs)
    assert not inputs['t_feature'].from_student and inputs['s_feature'].from_student

    student = model.student
    batch = tiny_batch(scope, size=SIZE, batch_size=2, with_mask=getattr(student, 'with_mask', False))
    with torch.no_grad():
        data = model.data_preprocessor(batch, True)
        logged = model(**data, mode='loss')

    loss_name = levels.get('loss_name', 'loss')
    checked = nonzero_ld = 0
    with torch.no_grad():
        for i, data_idx in enumerate(levels.get('indices') or [None]):
            tag = f'{levels.name}{i}'

            def feature(arg: str) -> torch.Tensor:
                record = inputs[arg]
                x = model.distiller.get_record(recorder=record.recorder, from_student=record.from_student,
                                               data_idx=data_idx)
                if record.get('connector'):
                    x = model.distiller.connectors[f'{record.connector}_{tag}'](x)
                return x

            s_feature, t_feature, s_transformed = feature('s_feature'), feature('t_feature'), feature('s_transformed')
            s_attention = feature('s_attention') if 's_attention' in inputs else s_feature
            assert s_transformed.shape == t_feature.shape == s_feature.shape, (
                tag, s_transformed.shape, t_feature.shape, s_feature.shape)
            n = t_feature.shape[0]
            hd = high_disparity(s_attention, t_feature)
            t = t_feature.double()
            expected_hd = alpha / n * region_sum((t - s_transformed.double()).square(), hd)  # eq. 5
            expected_ld = beta / n * region_sum((t - s_feature.double()).square(), ~hd)  # eq. 6
            key = f'distill.{loss_name}_{tag}'
            got_hd, got_ld = float(logged[f'{key}_hd']), float(logged[f'{key}_ld'])
            # HD is never empty (the largest D is >= the mean); LD is, where D is constant (a 1x1 map)
            assert 0 < float(expected_hd), (tag, float(expected_hd))
            nonzero_ld += float(expected_ld) > 0
            assert math.isclose(got_hd, float(expected_hd), rel_tol=1e-4), f'{_rel(path)} {tag}: L_HD logged ' \
                f'{got_hd}, eq. 5 gives {float(expected_hd)}'
            assert math.isclose(got_ld, float(expected_ld), rel_tol=1e-4), f'{_rel(path)} {tag}: L_LD logged ' \
                f'{got_ld}, eq. 6 gives {float(expected_ld)}'
            stat = logged[f'distill.{loss_name.replace("loss", "stat")}_{tag}_hd_fraction']
            assert math.isclose(float(stat), float(hd.float().mean()), abs_tol=1e-6), (tag, float(stat))
            checked += 1
    assert checked == len(levels.get('indices') or [None]) and nonzero_ld, (checked, nonzero_ld)


# ---- 3. ablation switches --------------------------------------------------------------------------------------------
LINK = re.compile(r'\[([^\]]+)\]\(([^)]+)\)')
TABLE = re.compile(r'^### Table (\d+)\b')
# What a constraint token of a table 8 / table 10 name means for DFDLoss, and the connector it needs
# (None: none; 'DFDConnector' or 'MGDConnector' feeding s_transformed).
TOKENS_T8 = {'mse': ('mse', None), 'tf': ('transform', 'DFDConnector'), 'none': (None, None),
             'tfmse': ('transform+mse', 'DFDConnector')}
TOKENS_T10 = {'ours': ('mse', None), 'pkd': ('pkd', None), 'mgd': ('transform', 'MGDConnector')}
WIDTHS = {'halfc': 0.5, '1c': 1.0, '2c': 2.0}
POWERS = {'sqrt': 0.5, 'abs': 1.0, 'pow4': 4.0}


def readme_ablation_rows() -> List[Dict[str, Any]]:
    """The rows of recipes/ablations/README.md that link a recipe of that folder, with their table number."""
    rows, table = [], None
    for line in open(osp.join(ABLATIONS, 'README.md')):
        m = TABLE.match(line)
        if m:
            table = int(m.group(1))
            continue
        if not line.startswith('|'):
            continue
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        link = LINK.fullmatch(cells[0])
        if not link or osp.dirname(osp.normpath(osp.join(ABLATIONS, link.group(2)))) != ABLATIONS:
            continue
        weight = {'-': None}
        rows.append(dict(table=table, config=osp.normpath(osp.join(ABLATIONS, link.group(2))), method=cells[1],
                         alpha=weight.get(cells[5], cells[5]), beta=weight.get(cells[6], cells[6])))
    return rows


def promised(method: str) -> Tuple[int, Dict[str, Any], Optional[Dict[str, Any]]]:
    """What an ablation method name (``dfd-t<table>-<variant>``) promises: (table, DFDLoss settings, connector).

    The settings not named stay DFD's (configs/methods/dfd.py); the connector is the ``s_transformed`` one (type,
    structure, hidden width as a multiple of C), or None when no constraint needs one.
    """
    m = re.fullmatch(r'dfd-t(\d+)-(.+)', method)
    if not m:
        raise ValueError(f'ablation method {method!r} is not dfd-t<table>-<variant>')
    table, variant = int(m.group(1)), m.group(2)
    loss = dict(PAPER_SETTINGS, alpha=2.8e-5, beta=1e-5)
    dfd_connector = dict(type='DFDConnector', structure='conv1-3-1', expansion=2.0)
    connector: Optional[Dict[str, Any]] = dfd_connector
    if table == 1:  # regions, strict constraint only: no transform, no connector
        loss.update({'hd-only': dict(hd_constraint='mse', ld_constraint=None),
                     'ld-only': dict(hd_constraint=None, ld_constraint='mse'),
                     'split': dict(hd_constraint='mse', ld_constraint='mse'),
                     'unsplit': dict(split=False, hd_constraint='mse', ld_constraint=None)}[variant])
        connector = None
    elif table == 5:  # a transformation module on the whole map
        structure, _, width = re.fullmatch(r'(conv1-1|conv3-3|conv1-3-1)(-(halfc|1c|2c))?', variant).groups()
        loss.update(split=False, ld_constraint=None)
        connector = dict(dfd_connector, structure=structure, expansion=WIDTHS[width or '1c'])
    elif table in (8, 10):
        hd, ld = variant.split('-')
        tokens = TOKENS_T8 if table == 8 else TOKENS_T10
        (hd_constraint, hd_connector), (ld_constraint, ld_connector) = tokens[hd], tokens[ld]
        loss.update(hd_constraint=hd_constraint, ld_constraint=ld_constraint)
        kind = hd_connector or ld_connector
        connector = (None if kind is None else dfd_connector if kind == 'DFDConnector' else
                     dict(type='MGDConnector', lambda_mgd=0.65))
    elif table == 9:
        loss.update(strict_power=POWERS[variant])
    elif table == 11:
        loss.update(distance={'l1': 'l1', 'l2': 'l2'}[variant])
    elif table == 12:
        loss.update(threshold={'mean': 'mean', 'median': 'median'}[variant])
    else:
        raise ValueError(f'{method}: no rule for table {table}')
    return table, loss, connector


def _weight(value: Any) -> Optional[float]:
    return None if value is None else float(value)


ABLATION_ROWS = readme_ablation_rows()


def test_every_ablation_recipe_has_a_row():
    listed = {r['config'] for r in ABLATION_ROWS}
    recipes = set(discover(ABLATIONS))
    assert recipes == listed, f'ablation recipes without a README row: {sorted(recipes - listed)}; rows without ' \
                              f'a recipe: {sorted(listed - recipes)}'


@pytest.mark.parametrize('row', ABLATION_ROWS, ids=lambda r: r['method'])
def test_ablation_switches_are_those_promised(row):
    path = row['config']
    name = osp.splitext(osp.basename(path))[0]
    assert name.split('_')[0] == row['method'], f'{name}: README method {row["method"]}'
    table, loss, connector = promised(row['method'])
    assert table == row['table'], f'{name} is listed under table {row["table"]}, its name says table {table}'
    levels = load(path).model.distiller.levels
    args = effective_loss_args(levels.loss)
    # the README's weights: alpha is the weight of the HD term (of the whole map when unsplit), beta of the LD term
    loss.update(alpha=_weight(row['alpha']), beta=_weight(row['beta']))
    got = dict(args, alpha=args['alpha'] if (not args['split'] or args['hd_constraint']) else None,
               beta=args['beta'] if (args['split'] and args['ld_constraint']) else None)
    if not got['split']:
        got['ld_constraint'] = None  # DFDLoss ignores it when unsplit
    wrong = {k: (got[k], v) for k, v in loss.items() if got[k] != v}
    assert not wrong, f'{name}: DFDLoss settings (recipe, promised): {wrong}'
    connectors = {k: v for k, v in (levels.get('connectors') or {}).items() if v is not None}
    inputs = {k: v for k, v in levels.inputs.items() if v is not None}
    if connector is None:
        assert not connectors and 's_transformed' not in inputs, f'{name}: needs no connector, has {connectors}'
        return
    trans = inputs.get('s_transformed', {}).get('connector')
    assert trans in connectors, f'{name}: s_transformed is not fed by a connector ({inputs.get("s_transformed")})'
    built = dict(connectors[trans])
    if connector['type'] == 'DFDConnector':
        built = dict(effective_loss_args(built), type=built['type'])  # structure/expansion defaults filled in
    wrong = {k: (built.get(k), v) for k, v in connector.items() if built.get(k) != v}
    assert not wrong, f'{name}: connector {trans!r} (recipe, promised): {wrong}'
    if connector['type'] == 'DFDConnector':
        channels = levels.get('teacher_channels')
        hidden = built.get('hidden_channels') or round(built['expansion'] * channels)
        assert hidden == round(connector['expansion'] * channels), f'{name}: hidden width {hidden}'
