"""Issue 24: a newcomer's own pair, written outside the repository from docs/extending.md alone, checks and trains
offline, and every failure names the config key and the fix.

The pair is section 6's (RetinaNet R-50 -> R-18 from MMDetection's zoo configs, the teacher through MMRazor's
``cfg_path`` form, both backbones ImageNet-pretrained by their configs), written into a temporary folder as a user
would. The doctor and a two-iteration training run execute the guide's own commands in a subprocess whose network
is a refused proxy and whose torch hub cache is empty: any download attempt would fail them. The where-to-tap table
of the guide is checked row by row with the doctor's tap check on the codebases' own configs.
"""
import importlib
import os.path as osp
import re
import runpy
import sys
import urllib.error

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config

from testing_helpers import (load_recipe, model_num_classes, offline_model_cfg, offline_options, recipe_loads_masks,
                             recipe_task, tiny_batch)
from tools_helpers import DATA, ROOT, run

DOC = osp.join(ROOT, 'docs', 'extending.md')
USER = 'my_recipes/'
PAIR = 'my_recipes/retina-r50_retina-r18_coco.py'
RECIPE = 'my_recipes/dfd_fpn_retina-r50_retina-r18_coco.py'
STUDENT_ZOO = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
TEACHER_ZOO = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'


def blocks():
    """(language, text) of every fenced block of the guide, in order."""
    return re.findall(r'```(\w+)\n(.*?)```', open(DOC).read(), flags=re.S)


def section6_commands():
    """Section 6's commands: the guide's lines that run a user recipe, after the worked example's four."""
    commands = [c for lang, text in blocks() if lang == 'bash' for c in text.strip().splitlines() if USER in c]
    return commands[4:]


@pytest.fixture
def user_recipe(tmp_path):
    """Section 6's pair and recipe, as listed in the guide, in a folder outside the repository."""
    for lang, text in blocks():
        path, body = text[len('# file: '):].split('\n', 1) if text.startswith('# file: ') else ('', '')
        if lang == 'python' and path in (PAIR, RECIPE):
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(body)
    assert (tmp_path / PAIR).is_file() and (tmp_path / RECIPE).is_file()
    assert not str(tmp_path).startswith(ROOT)
    return tmp_path


def no_network_env(tmp_path):
    """An environment in which every download fails at once: proxies that refuse, an empty torch hub cache."""
    refused = 'http://127.0.0.1:9'
    return dict(http_proxy=refused, https_proxy=refused, HTTP_PROXY=refused, HTTPS_PROXY=refused, no_proxy='',
                NO_PROXY='', TORCH_HOME=str(tmp_path / 'torch_home'))


def run_doc_command(command, user_dir, tmp_path, *extra):
    args = command.replace(USER, str(user_dir / USER) + '/').split()
    assert args[0] == 'python'
    return run(args[1:] + list(extra), check=False, env=no_network_env(tmp_path), timeout=600)


def pretrained_keys(node, key=''):
    """Dotted keys of every Pretrained init_cfg and string/True ``pretrained`` in a config tree (written here, apart
    from dfd_razor_tools.offline)."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            child = f'{key}.{k}' if key else k
            if k == 'init_cfg' and isinstance(v, dict) and v.get('type') == 'Pretrained':
                found.append(child)
            elif k == 'pretrained' and (isinstance(v, str) or v is True):
                found.append(child)
            else:
                found += pretrained_keys(v, child)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found += pretrained_keys(v, f'{key}.{i}')
    return found


# ---- 1. --offline ---------------------------------------------------------------------------------------------
def test_offline_drops_every_pretrained_init_of_the_pair_and_names_each(user_recipe):
    from dfd_razor_tools.launch import load_config
    from dfd_razor_tools.offline import make_offline
    cfg = load_config(str(user_recipe / RECIPE), {}, None, 'none')
    assert cfg.model.teacher == dict(cfg_path=TEACHER_ZOO, pretrained=False)  # unreachable by --cfg-options
    student_ckpt = get_config(STUDENT_ZOO).model.backbone.init_cfg.checkpoint
    teacher_ckpt = get_config(TEACHER_ZOO).model.backbone.init_cfg.checkpoint
    assert (student_ckpt, teacher_ckpt) == ('torchvision://resnet18', 'torchvision://resnet50')
    lines = make_offline(cfg)
    assert lines == [
        f'--offline: model.architecture.backbone.init_cfg (Pretrained {student_ckpt}) dropped: random initialisation',
        f'--offline: model.teacher.backbone.init_cfg (Pretrained {teacher_ckpt}, from {TEACHER_ZOO}) dropped: random '
        'initialisation']
    assert pretrained_keys(cfg.model.to_dict()) == []
    teacher = cfg.model.teacher
    assert teacher.type == 'RetinaNet' and teacher.backbone.depth == 50 and teacher['_scope_'] == 'mmdet'
    assert cfg.model.teacher_ckpt == 'work_dirs/my_retina_r50/epoch_12.pth'  # the teacher itself is not an init


def test_offline_handles_every_form_of_pretrained():
    from dfd_razor_tools.offline import make_offline
    cfg = Config(dict(model=dict(
        architecture=dict(type='EncoderDecoder', pretrained='open-mmlab://resnet18_v1c',
                          backbone=dict(type='ResNetV1c', init_cfg=None),
                          decode_head=dict(init_cfg=[dict(type='Normal', std=0.01),
                                                     dict(type='Pretrained', checkpoint='head.pth')])),
        teacher=dict(cfg_path=TEACHER_ZOO, pretrained=True))))
    lines = make_offline(cfg)
    assert [ln.split(' (')[0] for ln in lines] == [
        '--offline: model.architecture.pretrained', '--offline: model.architecture.decode_head.init_cfg.1',
        '--offline: model.teacher.pretrained', '--offline: model.teacher.backbone.init_cfg']
    assert 'the model-zoo checkpoint of ' + TEACHER_ZOO in lines[2]
    model = cfg.model.to_dict()
    assert pretrained_keys(model) == []
    assert model['architecture']['pretrained'] is None
    assert model['architecture']['decode_head']['init_cfg'] == [dict(type='Normal', std=0.01)]


def test_failed_download_is_one_line_naming_the_keys_and_offline(user_recipe):
    """Without --offline: the student's pretrained backbone points at a server that refuses (a user's mirror that is
    down); building and initialising the algorithm, as both tools do, fails with one line."""
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS

    from dfd_razor_tools.launch import RecipeError, load_config
    from dfd_razor_tools.offline import download_errors
    url = 'http://127.0.0.1:9/my_mirror/resnet18-f37072fd.pth'
    cfg = load_config(str(user_recipe / RECIPE), {'model.architecture.backbone.init_cfg.checkpoint': url}, None,
                      'none')
    cfg.model.teacher_ckpt, cfg.model.allow_random_teacher = None, True
    init_default_scope('mmdet')
    with pytest.raises(RecipeError) as error:
        with download_errors(cfg):
            MODELS.build(cfg.model).init_weights()
    message = str(error.value)
    assert isinstance(error.value.__cause__, urllib.error.URLError)
    assert '\n' not in message
    assert f'model.architecture.backbone.init_cfg (Pretrained {url})' in message
    assert f'model.teacher.backbone.init_cfg (Pretrained torchvision://resnet50, in {TEACHER_ZOO})' in message
    assert 'rerun with --offline' in message


# ---- 3. a method's weights in a recipe ---------------------------------------------------------------------------
def test_the_guides_weight_line_sets_the_loss_and_keeps_the_method(user_recipe):
    from mmrazor.registry import MODELS

    from dfd_razor_tools.launch import load_config
    cfg = load_config(str(user_recipe / RECIPE), {}, None, 'none')
    method = Config.fromfile(osp.join(ROOT, 'configs', 'methods', 'dfd.py')).method
    levels = cfg.model.distiller.levels
    assert levels.loss == dict(method.levels.loss, alpha=1e-4, beta=3e-5)
    assert levels.inputs == method.levels.inputs and levels.connectors == method.levels.connectors
    distiller = MODELS.build(cfg.model.distiller)
    assert len(distiller.distill_losses) == 5
    assert all((m.alpha, m.beta) == (1e-4, 3e-5) for m in distiller.distill_losses.values())


def test_a_recipe_that_replaces_the_method_is_told_why_and_how(user_recipe):
    from mmrazor.registry import MODELS

    from dfd_razor.errors import RecipeKeyError
    from dfd_razor_tools.launch import RecipeError, load_config
    trap = user_recipe / USER / 'trap.py'
    trap.write_text("_base_ = ['./retina-r50_retina-r18_coco.py', 'dfd_razor::methods/dfd.py']\n"
                    'model = dict(distiller=_base_.method)\n'
                    'model = dict(distiller=dict(levels=dict(loss=dict(alpha=1e-4, beta=3e-5))))\n')
    cfg = load_config(str(trap), {}, None, 'none')
    with pytest.raises(KeyError) as error:
        MODELS.build(cfg.model.distiller)
    assert isinstance(error.value, RecipeKeyError)
    message = str(error.value)
    assert message.startswith("model.distiller.levels has no 'inputs' (it has")
    assert "replaced the method's model.distiller" in message
    assert "model['distiller'].levels.loss.update(alpha=1e-4, beta=3e-5)" in message
    attribute = user_recipe / USER / 'attribute.py'
    attribute.write_text("_base_ = ['./retina-r50_retina-r18_coco.py', 'dfd_razor::methods/dfd.py']\n"
                         'model = dict(distiller=_base_.method)\n'
                         'model.distiller.levels.loss.update(alpha=1e-4)\n')
    with pytest.raises(RecipeError) as error:
        load_config(str(attribute), {}, None, 'none')
    assert str(error.value).startswith(f'{attribute}, line 3: AttributeError: \'dict\' object has no attribute')
    assert "model['distiller'].levels.loss.update(" in str(error.value)


# ---- 1, 2, 5, 6 through the tools, as the guide runs them ----------------------------------------------------------
def test_the_doctor_passes_offline_with_no_teacher_on_a_bundled_set(user_recipe, tmp_path):
    command = next(c for c in section6_commands() if 'inspect_distill.py' in c)
    proc = run_doc_command(command, user_recipe, tmp_path, '--cfg-options', 'train_dataloader.batch_size=2')
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    shown = next(text for lang, text in blocks() if lang == 'text' and text.startswith('--offline:'))
    for line in shown.strip().splitlines():
        assert line in out.splitlines(), line
    assert 'no problem found' in out and 'pkg_resources' not in out + proc.stderr
    hd = [ln for ln in out.splitlines() if re.match(r'loss_dfd_fpn\d_hd ', ln)]
    assert len(hd) == 5 and all(ln.split()[2] == '0.0001' for ln in hd)  # the recipe's alpha
    taps = [ln.strip() for ln in out.splitlines() if re.match(r'\s+loss_dfd_fpn\d: neck\[\d\] -> ', ln)]
    assert taps == [f'loss_dfd_fpn{i}: neck[{i}] -> read by bbox_head' for i in range(5)]


def test_training_runs_with_a_random_teacher_for_two_iterations_on_a_bundled_set(user_recipe, tmp_path):
    command = next(c for c in section6_commands() if 'train.py' in c)
    work = tmp_path / 'work'
    # speed only: validate on 4 of BCCD's 87 images
    proc = run_doc_command(command, user_recipe, tmp_path, '--work-dir', str(work), '--cfg-options',
                           'val_dataloader.dataset.indices=4', 'train_dataloader.batch_size=2')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'pkg_resources' not in out
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if 'the teacher is RANDOM' in ln)
    first_log = next(i for i, ln in enumerate(lines) if 'Iter(train) [' in ln)
    assert start < first_log
    val = [ln for ln in lines if 'Iter(val) [' in ln and 'pascal_voc/mAP' in ln]
    assert len(val) == 1 and 'teacher: RANDOM' in val[0], val
    assert 'Iter(train) [2/2]' in out and (work / 'iter_2.pth').is_file()
    assert not (work / 'epoch_1.pth').exists()


# ---- 5. --max-iters, --no-validate, --data, class counts -------------------------------------------------------
def test_max_iters_on_iteration_and_epoch_based_recipes():
    from dfd_razor_tools.trial import disable_validation, limit_iterations
    it = load_recipe(osp.join(ROOT, 'recipes', 'cpu_demo', 'dfd_head_pspnet-r18_pspnet-r18q_200i_camvid.py'))
    assert it.train_cfg.type == 'IterBasedTrainLoop' and it.train_cfg.max_iters == 200
    limit_iterations(it, 3)
    assert (it.train_cfg.max_iters, it.train_cfg.val_interval) == (3, 3)
    assert (it.default_hooks.checkpoint.interval, it.default_hooks.logger.interval) == (3, 3)
    ep = Config.fromfile(osp.join(ROOT, 'configs', 'pairs', 'td-hm-mbv2_210e_coco-256x192.py'))
    assert ep.train_cfg.get('by_epoch') and ep.train_cfg.max_epochs == 210  # MMPose's form: no loop type
    lines = limit_iterations(ep, 2)
    assert ep.train_cfg == dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    assert ep.default_hooks.checkpoint.by_epoch is False and ep.default_hooks.checkpoint.interval == 2
    assert ep.log_processor.by_epoch is False and 'max_epochs' in lines[0]
    disable_validation(ep)
    assert ep.val_cfg is None and ep.val_dataloader is None and ep.val_evaluator is None


def test_data_swaps_datasets_metric_and_class_count_for_each_task():
    import json

    from dfd_razor_tools.classes import check_num_classes
    from dfd_razor_tools.launch import check_data
    from dfd_razor_tools.trial import use_bundled_data
    with open(osp.join(DATA, 'tiny_coco', 'annotations', 'instances_val2017.json')) as f:
        coco_classes = len(json.load(f)['categories'])
    camvid_classes = 11  # ../shared/data/README.md: label indices 0-10, 11 is void
    cases = {
        'recipes/pspnet/dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py': ('camvid', camvid_classes),
        'recipes/cpu_demo/dfd_neck_yolov6-t_yolov6-n_300i_bccd.py': ('tiny_coco', coco_classes),
        'recipes/yolov6/dfd_neck_yolov6-s_yolov6-t_300e_coco.py': ('bccd', 3),
        'recipes/cpu_demo/dfd_fpn_retina-r18_retina-r18half_500i_tinycoco.py': ('bccd', 3),
        'recipes/pose/dfd_backbone_td-hm-r50_td-hm-mbv2_210e_coco-256x192.py': ('pose_minicoco', None),
    }
    for recipe, (name, classes) in cases.items():
        cfg = load_recipe(osp.join(ROOT, recipe))
        lines = use_bundled_data(cfg, name, DATA)
        check_data(cfg, ['train_dataloader', 'val_dataloader', 'test_dataloader'])  # every file exists
        check_num_classes(cfg, ['train_dataloader', 'val_dataloader', 'test_dataloader'])
        root = osp.join(DATA, name) + '/'
        datasets = [cfg[k].dataset for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
        assert all(d.data_root == root for d in datasets), recipe
        assert any(line.startswith(f'--data {name}: ') for line in lines)
        student = cfg.model.architecture
        if classes is not None:
            counts = [v for k, v in _num_classes(student)]
            assert counts and set(counts) == {classes}, (recipe, counts)
    seg = load_recipe(osp.join(ROOT, 'recipes/pspnet/dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py'))
    use_bundled_data(seg, 'camvid', DATA)
    assert seg.train_dataloader.dataset.type == 'CamVidDataset' and seg.val_evaluator.type == 'IoUMetric'
    assert seg.data_preprocessor.size == (176, 176) and seg.model.architecture.data_preprocessor.size == (176, 176)
    assert seg.model.teacher.cfg_path.startswith('mmseg::')  # a trained teacher keeps its head
    from dfd_razor_tools.launch import RecipeError
    with pytest.raises(RecipeError, match=r"--data bccd: serves mmdet/mmyolo recipes, and this recipe's default_scope "
                                          r"is 'mmseg'; use --data camvid"):
        use_bundled_data(load_recipe(osp.join(ROOT, 'configs/pairs/pspnet-r18_40k_cityscapes-512x512.py')), 'bccd')


def test_data_swaps_an_mmyolo_recipe_between_bccd_and_tiny_coco():
    """MMYOLO: --data bccd gives a COCO recipe BCCDDataset (no batch shapes), BCCD's two metrics and a test pipeline
    that passes the ground truth on to CocoMetric; --data tiny_coco gives the BCCD pair YOLOv5CocoDataset. The
    swapped val sets load an item whose packed sample carries what the metrics read."""
    from mmengine.registry import init_default_scope
    from mmyolo.registry import DATASETS

    import dfd_razor  # noqa: F401  (BCCDDataset)
    from dfd_razor_tools.trial import use_bundled_data
    coco = load_recipe(osp.join(ROOT, 'recipes/yolov6/dfd_neck_yolov6-s_yolov6-t_300e_coco.py'))
    use_bundled_data(coco, 'bccd', DATA)
    val = coco.val_dataloader.dataset
    assert val.type == 'mmdet.BCCDDataset' and 'batch_shapes_cfg' not in val
    assert val.ann_file == 'ImageSets/Main/val.txt' and coco.train_dataloader.dataset.type == 'mmdet.BCCDDataset'
    assert [e['type'] for e in coco.val_evaluator] == ['mmdet.VOCMetric', 'mmdet.CocoMetric']
    assert coco.val_evaluator[1]['ann_file'] is None
    bccd = load_recipe(osp.join(ROOT, 'recipes/cpu_demo/dfd_neck_yolov6-t_yolov6-n_300i_bccd.py'))
    use_bundled_data(bccd, 'tiny_coco', DATA)
    assert bccd.val_dataloader.dataset.type == 'YOLOv5CocoDataset'
    assert bccd.val_dataloader.dataset.ann_file == 'annotations/instances_val2017.json'
    init_default_scope('mmyolo')
    item = DATASETS.build(val)[0]
    sample = item['data_samples']
    assert len(sample.instances) == len(sample.gt_instances.bboxes) > 0  # CocoMetric's and VOCMetric's ground truth
    assert tuple(item['inputs'].shape[1:]) == (640, 640)  # the recipe's own letterbox, kept
    assert DATASETS.build(bccd.val_dataloader.dataset)[0]['data_samples'].gt_instances.bboxes.shape[1] == 4


def _num_classes(node, key=''):
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ('rpn_head', 'backbone', 'neck'):
                continue
            found += [(f'{key}.{k}', v)] if k == 'num_classes' else _num_classes(v, f'{key}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found += _num_classes(v, f'{key}.{i}')
    return found


def test_a_head_whose_class_count_differs_from_the_dataset_is_an_error_in_every_tool(tmp_path, capsys,
                                                                                      monkeypatch):
    """A Cityscapes recipe (19 classes) pointed at CamVid (11) by hand: train, test and the doctor each stop before
    building anything, with one line naming both."""
    recipe = osp.join(ROOT, 'recipes', 'pspnet', 'dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py')
    camvid = osp.join(DATA, 'camvid') + '/'
    options = []
    for loader, split in (('train_dataloader', 'train'), ('val_dataloader', 'val'), ('test_dataloader', 'val')):
        options += [f'{loader}.dataset.type=CamVidDataset', f'{loader}.dataset.data_root={camvid}',
                    f'{loader}.dataset.data_prefix.img_path=images/{split}',
                    f'{loader}.dataset.data_prefix.seg_map_path=labels/{split}']
    checkpoint = tmp_path / 'student.pth'
    torch.save({'state_dict': {}}, checkpoint)
    tools = {'train.py': [], 'inspect_distill.py': ['--no-teacher'], 'test.py': [str(checkpoint)]}
    for tool, extra in tools.items():
        monkeypatch.setattr(sys, 'argv', [tool, recipe, *extra, '--work-dir', str(tmp_path), '--cfg-options',
                                          *options])
        with pytest.raises(SystemExit) as exit_code:
            runpy.run_path(osp.join(ROOT, 'tools', tool), run_name='__main__')
        err = capsys.readouterr().err
        assert exit_code.value.code == 2, (tool, err)
        error = [ln for ln in err.splitlines() if ln.startswith('error: ')]
        assert len(error) == 1, (tool, err)
        assert ('model.architecture.decode_head.num_classes=19, model.architecture.auxiliary_head.num_classes=19, but '
                'train_dataloader.dataset (CamVidDataset) has 11 classes' in error[0] or
                'test_dataloader.dataset (CamVidDataset) has 11 classes' in error[0]), (tool, error[0])
        assert 'model.architecture.decode_head.num_classes=11' in error[0] and '--data' in error[0]


# ---- 4. where to tap: the guide's table, the wrong taps, the shipped recipes ---------------------------------------
SIZE = 64


def tap_rows():
    """(config, source, indices, wrong source or None) per row of the guide's where-to-tap table."""
    text = open(DOC).read()
    table = text[text.index('| codebase | neck / decode head |'):].split('\n\n')[0].splitlines()[2:]
    rows = []
    for line in table:
        cells = [c.strip() for c in line.strip('|').split('|')]
        tap = re.findall(r'`([^`]+)`', cells[2])
        wrong = re.findall(r'`([^`]+)`', cells[4])
        config = re.findall(r'`([^`]+)`', cells[5])[0]
        rows.append((config, tap[0], eval(tap[1]) if len(tap) > 1 else None, wrong[0] if wrong else None))
    return rows


def _build(scope, model_cfg):
    from mmengine.registry import DefaultScope
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(model_cfg)
    return model.train()


def _forward(scope, model, num_classes=None, with_mask=False, pose_size=None):
    """A training forward on a tiny batch (MMPose rows: the plain forward at the codec's input size)."""
    from mmengine.logging import MessageHub
    from mmengine.registry import DefaultScope
    # what a Runner provides: YOLOv6's head picks its assigner by epoch, YOLOX's batch resize reads the iteration
    MessageHub.get_current_instance().update_info('epoch', 0)
    MessageHub.get_current_instance().update_info('iter', 0)
    torch.manual_seed(0)
    if pose_size is not None:
        inputs = torch.randn(2, 3, pose_size[1], pose_size[0])
        return lambda: model(inputs, None, mode='tensor')
    with DefaultScope.overwrite_default_scope(scope):
        size = SIZE if scope == 'mmseg' else 2 * SIZE  # detectors: enough anchors at stride 32 for ATSS's top 9
        data = model.data_preprocessor(tiny_batch(scope, size=size, batch_size=2, num_classes=num_classes,
                                                  with_mask=with_mask), True)

    def forward():
        with DefaultScope.overwrite_default_scope(scope):
            return model(**data, mode='loss')
    return forward


def _taps(source, indices, label):
    return [(f'{label}{i}', source, i) for i in indices] if indices is not None else [(label, source, None)]


@pytest.mark.parametrize('row', tap_rows(), ids=lambda r: r[0].split('/')[-1])
def test_where_to_tap_table_row(row):
    """Each row's tap is read by the task head (or is the next stage's input); the row's wrong tap is flagged,
    naming the row's tap as the module the classifier reads."""
    from dfd_razor.tap_check import check_taps
    config, source, indices, wrong = row
    scope = config.split('::')[0]
    cfg = get_config(config)
    model_cfg = offline_model_cfg(cfg.model)
    assert pretrained_keys(model_cfg.to_dict()) == []
    if scope == 'mmseg' and model_cfg.data_preprocessor.get('size'):
        model_cfg.data_preprocessor.size = (SIZE, SIZE)  # pad the tiny batch to itself, not to the 512 crop
    model = _build(scope, model_cfg)
    forward = _forward(scope, model, pose_size=cfg.codec['input_size'] if scope == 'mmpose' else None)
    taps = _taps(source, indices, 'level') + ([('wrong', wrong, None)] if wrong else [])
    with torch.no_grad():
        checks = check_taps(model, taps, forward)
    assert [c.label for c in checks] == [t[0] for t in taps], 'a tapped module did not run'
    good = [c for c in checks if c.label != 'wrong']
    assert all(c.ok for c in good), [c.describe() for c in good]
    assert all(c.readers or c.output_of for c in good)
    if wrong:
        flagged = checks[-1]
        assert not flagged.ok and flagged.readers == [], flagged.describe()
        assert flagged.warning().startswith(f'wrong: no module reads the tapped {wrong} as it is')
        assert f'the classifier decode_head.conv_seg reads {source}: tap that module' in flagged.warning()


SHIPPED = [  # one recipe per kind of tap the repository ships (tests/test_recipes/test_recipe_smoke.py: all of them)
    'cpu_demo/dfd_fpn_retina-r18_retina-r18q_300i_bccd.py',  # MMDet FPN neck
    'cpu_demo/dfd_neck_yolov6-t_yolov6-n_300i_bccd.py',  # MMYOLO neck
    'cpu_demo/dfd_backbone_td-hm-r18_td-hm-r18half_800i_minicoco.py',  # pose backbone
    'cpu_demo/dfd_head_pspnet-r18_pspnet-r18q_200i_camvid.py',  # PSPHead bottleneck
    'pspnet/cwd_logits_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py',  # logits (conv_seg)
    'extending/dfd_neck_rtmdet-ins-s_rtmdet-ins-tiny_300e_coco.py',  # RTMDet-Ins neck (masks)
]


@pytest.mark.parametrize('recipe', SHIPPED)
def test_no_tap_warning_on_shipped_recipes(recipe):
    from dfd_razor.tap_check import check_taps
    path = osp.join(ROOT, 'recipes', recipe)
    cfg = load_recipe(path)
    cfg = load_recipe(path, offline_options(cfg))
    scope = recipe_task(cfg)
    distiller = cfg.model.distiller
    indices = distiller.levels.get('indices')
    taps = [t for name, rec in distiller.student_recorders.items() for t in _taps(rec.source, indices, name)]
    model_cfg = cfg.model.architecture
    if scope == 'mmseg' and model_cfg.data_preprocessor.get('size'):
        model_cfg.data_preprocessor.size = (SIZE, SIZE)
    model = _build(scope, model_cfg)
    with_mask = getattr(model, 'with_mask', False) or recipe_loads_masks(cfg)
    forward = _forward(scope, model, num_classes=model_num_classes(model), with_mask=with_mask)
    with torch.no_grad():
        checks = check_taps(model, taps, forward)
    assert len(checks) == len(taps) and all(c.ok for c in checks), [c.describe() for c in checks]
