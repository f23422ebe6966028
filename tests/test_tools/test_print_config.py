"""tools/print_config.py: the resolved config of one recipe per family, levels expanded, with the source of each
distillation value. In-process (dfd_razor_tools.config_provenance, the tool's main), plus one run of the command
line."""
import ast
import importlib.util
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from dfd_razor_tools import config_provenance

from tools_helpers import ROOT, run

CONFIGS = osp.join(ROOT, 'configs')
FAMILIES = {  # family -> its DFD recipe
    'retinanet': 'retinanet/dfd_fpn_retina-x101_retina-r50_1x_coco.py',
    'faster_rcnn': 'faster_rcnn/dfd_fpn_faster-r101_faster-r50_1x_coco.py',
    'reppoints': 'reppoints/dfd_fpn_reppoints-x101-dcn_reppoints-r50_2x_coco.py',
    'swin': 'swin/dfd_fpn_mask-swin-s_mask-swin-t_1x_coco.py',
    'yolov6': 'yolov6/dfd_neck_yolov6-s_yolov6-t_300e_coco.py',
    'rtmdet': 'rtmdet/dfd_neck_rtmdet-s_rtmdet-tiny_300e_coco.py',
    'yolov8': 'yolov8/dfd_neck_yolov8-m_yolov8-s_500e_coco.py',
    'pose': 'pose/dfd_backbone_td-hm-r50_td-hm-mbv2_210e_coco-256x192.py',
    'pspnet': 'pspnet/dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py',
    'cpu_demo': 'cpu_demo/dfd_fpn_retina-r18_retina-r18q_300i_bccd.py',
}
BETA = 3.25e-6  # set on the command line: no config uses it


def _load_tool():
    """The script, for its entry point only (argument parsing and exit status)."""
    spec = importlib.util.spec_from_file_location('print_config_tool', osp.join(ROOT, 'tools', 'print_config.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _get(node, dotted):
    for part in dotted.split('.'):
        node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
    return node


def tapped_outputs(cfg):
    """How many feature maps the student's tapped module gives, from the model's own config (not the distiller's
    levels): an mmdet FPN's num_outs, an MMYOLO PAFPN's one output per input, a backbone's out_indices, and a
    single tensor for a module inside a head."""
    source = cfg.model.distiller.student_recorders.feat.source
    module = _get(cfg.model.architecture, source) if '.' not in source else None
    if source == 'neck' and module.type == 'FPN':
        return module.num_outs
    if source == 'neck':  # YOLOv6RepPAFPN, YOLOv8PAFPN, CSPNeXtPAFPN
        assert module.type.endswith('PAFPN'), module.type
        return len(module.in_channels)
    if source == 'backbone':
        return len(module.out_indices)
    assert source.startswith('decode_head.'), source
    return 1


def method_file(recipe_path):
    """The configs/methods file a recipe names in its _base_, and the file of that chain that writes the loss's
    alpha (the *_align variants inherit dfd.py's weights; the two-stage ones set their own)."""
    tree = ast.parse(open(recipe_path).read())
    bases = next(node.value for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == '_base_')
    method = [ast.literal_eval(b) for b in bases.elts if 'configs/methods/' in ast.literal_eval(b)][0]
    path = osp.normpath(osp.join(osp.dirname(recipe_path), method))
    while 'alpha=' not in open(path).read():
        base = ast.literal_eval(next(n.value for n in ast.parse(open(path).read()).body
                                     if isinstance(n, ast.Assign) and n.targets[0].id == '_base_'))
        path = osp.normpath(osp.join(osp.dirname(path), base))
    return path


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_one_recipe_per_family(family):
    recipe = osp.join(ROOT, 'recipes', FAMILIES[family])
    plain = Config.fromfile(recipe)  # the recipe as written, levels not expanded
    resolved = config_provenance.ResolvedConfig(recipe, {'model.distiller.levels.loss.beta': BETA})
    distiller = resolved.cfg.model.distiller

    # levels expanded: one loss, one transform connector and one mapping per output of the tapped module
    n = tapped_outputs(plain)
    indices = plain.model.distiller.levels.get('indices')
    assert len(indices or [None]) == n
    assert len(resolved.level_tags) == n
    assert 'levels' not in distiller
    assert len(distiller.distill_losses) == len(distiller.loss_forward_mappings) == n
    assert len([k for k in distiller.connectors if k.startswith('trans_')]) == n
    data_idx = [mapping.t_feature.get('data_idx') for mapping in distiller.loss_forward_mappings.values()]
    assert data_idx == (list(range(n)) if indices else [None])

    # the loss: alpha from the method file that writes it, beta from the command line, at every level
    alpha_file = method_file(recipe)
    alpha = Config.fromfile(alpha_file).method.levels.loss.alpha
    for loss_key in distiller.distill_losses:
        prefix = f'model.distiller.distill_losses.{loss_key}'
        assert resolved.value(f'{prefix}.type') == 'DFDLoss'
        assert resolved.source(f'{prefix}.type') == osp.join(CONFIGS, 'methods', 'dfd.py')
        assert resolved.value(f'{prefix}.alpha') == alpha
        assert resolved.source(f'{prefix}.alpha') == alpha_file
        assert resolved.value(f'{prefix}.beta') == BETA
        assert resolved.source(f'{prefix}.beta') == config_provenance.COMMAND_LINE

    # the algorithm from configs/algorithms, the teacher checkpoint from the pair, the student's type from a file
    # of the chain that writes it
    algorithms = [f for f in resolved.chain if f.startswith(osp.join(CONFIGS, 'algorithms') + osp.sep)]
    assert len(algorithms) == 1 and resolved.source('model.type') == algorithms[0]
    assert resolved.value('model.type') == plain.model.type
    pair = [f for f in resolved.chain if f.startswith(osp.join(CONFIGS, 'pairs') + osp.sep)][-1]
    assert resolved.source('model.teacher_ckpt') == pair
    assert resolved.value('model.teacher_ckpt') == plain.model.teacher_ckpt
    arch_type = plain.model.architecture.type
    arch_source = resolved.source('model.architecture.type')
    assert arch_source in resolved.chain and f"type='{arch_type}'" in open(arch_source).read()
    assert resolved.chain[-1] == recipe

    # every distillation key has a source: a file of the chain or the command line
    keys = resolved.distill_keys()
    assert ('model', 'architecture', 'type') in keys and not [k for k in keys if k[:2] == ('model', 'architecture')
                                                              and k[2:] != ('type',)]
    assert {resolved.sources[k] for k in keys} <= set(resolved.chain) | {config_provenance.COMMAND_LINE}
    text = resolved.report()  # the config as mmengine prints it (pretty_text), then the sources
    assert f"type='{resolved.value('model.type')}'" in text and '\nmodel = dict(\n' in text
    assert f'model.distiller.distill_losses.{next(iter(distiller.distill_losses))}.beta = {BETA!r}  # command line' \
        in text.splitlines()


def test_no_expand_keeps_levels_with_their_sources():
    recipe = osp.join(ROOT, 'recipes', FAMILIES['cpu_demo'])
    resolved = config_provenance.ResolvedConfig(recipe, expand=False)
    assert resolved.level_tags == {} and 'levels' in resolved.cfg.model.distiller
    assert resolved.source('model.distiller.levels.loss.alpha') == osp.join(CONFIGS, 'methods', 'dfd.py')
    assert resolved.source('model.distiller.levels.student_channels') == osp.join(
        CONFIGS, 'pairs', 'retina-r18_retina-r18q_300i_bccd.py')
    assert resolved.source('model.distiller.levels.indices') == osp.join(CONFIGS, 'algorithms', 'fpn_teacher.py')


def test_help_and_a_missing_recipe(monkeypatch, capsys):
    print_config = _load_tool()
    monkeypatch.setattr(sys, 'argv', ['print_config.py', '--help'])
    with pytest.raises(SystemExit) as exit_:
        print_config.main()
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for text in ('--cfg-options', '--no-expand', '--sources', 'levels', 'dfd_razor::', 'example:'):
        assert text in out
    assert '--launcher' not in out
    monkeypatch.setattr(sys, 'argv', ['print_config.py', 'nope/recipe.py'])
    with pytest.raises(SystemExit) as exit_:
        print_config.run_cli(print_config.main)
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == 'error: config file not found: nope/recipe.py'


def test_command_line():
    recipe = osp.join('recipes', FAMILIES['cpu_demo'])
    proc = run(['tools/print_config.py', recipe, '--cfg-options', 'model.teacher_ckpt=/tmp/teacher.pth'])
    lines = proc.stdout.splitlines()
    assert lines[0] == f'# {recipe}: the _base_ chain, in the order its values apply'
    assert '#   configs/methods/dfd.py' in lines and '#   mmdet::_base_/models/retinanet_r50_fpn.py' in lines
    assert any(ln.startswith('# model.distiller.levels expanded') and '5 level(s)' in ln for ln in lines)
    assert "model.distiller.distill_losses.loss_dfd_fpn4.alpha = 2.8e-05  # configs/methods/dfd.py" in lines
    assert "model.teacher_ckpt = '/tmp/teacher.pth'  # command line" in lines
    assert "model.architecture.type = 'RetinaNet'  # mmdet::_base_/models/retinanet_r50_fpn.py" in lines
