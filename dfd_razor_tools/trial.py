"""Trying a recipe before running it for real: a few iterations, no validation, a random teacher, a bundled dataset.

The options of ``tools/train.py`` (and, for ``--offline`` and ``--data``, of ``tools/inspect_distill.py``):

- ``--offline``: every pretrained initialisation of student and teacher dropped, each named
  (:func:`dfd_razor_tools.offline.make_offline`);
- ``--random-teacher``: ``model.teacher_ckpt=None``, ``model.allow_random_teacher=True``, implies ``--offline``; the
  run says so when it starts and in every validation line (:class:`dfd_razor_tools.hooks.RandomTeacherHook`);
- ``--max-iters N``: N training iterations, for iteration- and epoch-based recipes alike (:func:`limit_iterations`);
- ``--no-validate``: no validation loop (:func:`disable_validation`);
- ``--data NAME``: the recipe's datasets, metric and class count swapped for a bundled small set
  (:func:`use_bundled_data`). A way to try a recipe (does it build, load, train, validate?), not to benchmark it.
"""
import argparse
import copy
import os.path as osp
import re
from typing import Any, Dict, Iterator, List, Optional, Tuple

from mmengine.config import Config

from dfd_razor.errors import RecipeError

from .classes import leaf_datasets, set_head_class_counts
from .offline import make_offline

#: bundled set -> the default scopes (codebases) whose recipes it serves
BUNDLED = {
    'tiny_coco': ('mmdet', 'mmyolo', 'mmpose'),
    'bccd': ('mmdet', 'mmyolo'),
    'camvid': ('mmseg',),
    'pose_minicoco': ('mmpose',),
}
#: classes of the bundled sets (tiny_coco: COCO's 80 categories; pose sets count keypoints: COCO's 17)
NUM_CLASSES = {'tiny_coco': 80, 'bccd': 3, 'camvid': 11}
#: CamVid crops of the bundled pipeline (configs/datasets/camvid.py): the segmentation pad size
CAMVID_CROP = (176, 176)


def add_trial_arguments(parser: argparse.ArgumentParser, train: bool) -> None:
    """``--offline`` and ``--data`` (both tools); with ``train``, also ``--random-teacher``, ``--max-iters``,
    ``--no-validate``."""
    parser.add_argument('--offline', action='store_true',
                        help='drop every pretrained initialisation of student and teacher (init_cfg Pretrained, '
                        'pretrained=..., the cfg_path form), each named: random weights, no download')
    parser.add_argument('--data', choices=sorted(BUNDLED), metavar='{' + ','.join(sorted(BUNDLED)) + '}',
                        help="swap the recipe's datasets, metric and class count for a bundled small set: to try "
                        'a recipe, not to benchmark it')
    if train:
        parser.add_argument('--random-teacher', action='store_true',
                            help='no teacher checkpoint (model.teacher_ckpt=None, model.allow_random_teacher=True) '
                            'for wiring smoke runs; implies --offline')
        parser.add_argument('--max-iters', type=int, metavar='N',
                            help='train N iterations (an epoch-based recipe becomes iteration-based)')
        parser.add_argument('--no-validate', action='store_true', help='no validation loop')


def use_random_teacher(cfg: Config) -> str:
    """``model.teacher_ckpt=None``, ``model.allow_random_teacher=True``; the line that says so."""
    if 'teacher' not in cfg.model:
        raise RecipeError(f'{cfg.filename}: model has no teacher (model.teacher): not a distillation recipe')
    cfg.model.teacher_ckpt = None
    cfg.model.allow_random_teacher = True
    return ('WARNING: the teacher is RANDOM (model.teacher_ckpt=None, model.allow_random_teacher=True): this run '
            'checks the wiring, its values say nothing about distillation')


def add_random_teacher_hook(cfg: Config) -> None:
    """Add :class:`dfd_razor_tools.hooks.RandomTeacherHook` to ``custom_hooks``, and its module to
    ``custom_imports``: the config the Runner saves in the work dir then loads, in every scope (``mmseg``'s too),
    wherever this checkout is importable (tools/install.sh puts it on the path)."""
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(type='RandomTeacherHook')]
    imports = dict(cfg.get('custom_imports') or dict(imports=[], allow_failed_imports=False))
    names = list(imports.get('imports') or [])
    if 'dfd_razor_tools.hooks' not in names:
        imports['imports'] = names + ['dfd_razor_tools.hooks']
    cfg.custom_imports = imports


def random_teacher(cfg: Config) -> bool:
    """Whether the recipe distils from a random teacher (no ``teacher_ckpt``, ``allow_random_teacher``)."""
    model = cfg.get('model') or {}
    return 'teacher' in model and not model.get('teacher_ckpt') and bool(model.get('allow_random_teacher'))


def limit_iterations(cfg: Config, max_iters: int) -> List[str]:
    """Train ``max_iters`` iterations, validating (if at all) once, at the end, and checkpointing there.

    An iteration-based recipe gets ``train_cfg.max_iters=N``, ``val_interval=N``. An epoch-based one
    (``EpochBasedTrainLoop``, or MMPose's ``by_epoch=True``) becomes iteration-based: ``train_cfg`` is replaced by
    ``IterBasedTrainLoop(max_iters=N, val_interval=N)`` (the loop restarts its dataloader as needed), the checkpoint
    hook and the log processor count iterations. Its epoch-indexed parts (learning-rate steps, pipeline switches,
    dynamic validation intervals, hooks acting at epoch E) then never reach their epochs: a smoke run of the recipe's
    wiring, not of its schedule. The logger prints every ``min(interval, N)`` iterations.
    """
    if max_iters < 1:
        raise RecipeError(f'--max-iters must be at least 1, got {max_iters}')
    train_cfg = cfg.get('train_cfg') or {}
    loop = str(train_cfg.get('type', ''))
    epoch_based = 'EpochBased' in loop or (not loop and bool(train_cfg.get('by_epoch')))
    lines = []
    if epoch_based:
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
        if cfg.get('log_processor') is not None:
            cfg.log_processor.by_epoch = False
        shown = {k: v for k, v in train_cfg.items() if k != '_scope_'}
        lines.append(f'--max-iters {max_iters}: the epoch-based train_cfg ({shown}) is replaced by '
                     f'IterBasedTrainLoop(max_iters={max_iters}); epoch-indexed schedules do not advance')
    else:
        cfg.train_cfg.max_iters = max_iters
        cfg.train_cfg.val_interval = max_iters
        lines.append(f'--max-iters {max_iters}: train_cfg.max_iters={max_iters}, val_interval={max_iters}')
    hooks = cfg.get('default_hooks') or {}
    if hooks.get('checkpoint') is not None:
        hooks.checkpoint.update(by_epoch=False, interval=max_iters)
    if hooks.get('logger') is not None:
        hooks.logger.interval = min(hooks.logger.get('interval', 50), max_iters)
    return lines


def disable_validation(cfg: Config) -> str:
    """No validation loop: ``val_cfg``, ``val_dataloader`` and ``val_evaluator`` set to None (mmengine builds the
    loop only when all three are set)."""
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    return '--no-validate: no validation loop'


def _det_pipelines(name: str, masks: bool) -> Dict[str, List[dict]]:
    """The CPU-sized pipelines of configs/datasets/bccd.py and tiny_coco_person.py (boxes, and masks where the
    recipe trains them)."""
    scale = (320, 240) if name == 'bccd' else (320, 320)
    load = dict(type='LoadAnnotations', with_bbox=True, with_mask=masks)
    flip = (dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']) if name == 'bccd' else
            dict(type='RandomFlip', prob=0.5))
    meta = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor') + (('instances', ) if name == 'bccd'
                                                                               else ())
    return dict(
        train=[dict(type='LoadImageFromFile'), load, dict(type='Resize', scale=scale, keep_ratio=True), flip,
               dict(type='PackDetInputs')],
        test=[dict(type='LoadImageFromFile'), dict(type='Resize', scale=scale, keep_ratio=True), load,
              dict(type='PackDetInputs', meta_keys=meta)])


def _loads_masks(cfg: Config) -> bool:
    train = cfg.get('train_dataloader') or {}
    for _, dataset in leaf_datasets(train.get('dataset'), 'train_dataloader.dataset'):
        for t in dataset.get('pipeline') or []:
            if isinstance(t, dict) and 'LoadAnnotations' in str(t.get('type')) and t.get('with_mask'):
                return True
    return False


def _dataset(name: str, scope: str, split: str, root: str, old: dict, masks: bool) -> dict:
    """The bundled set's dataset config replacing ``old`` (a leaf dataset of the recipe) for ``split``; ``masks``:
    the recipe trains instance masks."""
    train = split == 'train'
    coco_split = 'train2017' if train else 'val2017'
    if scope == 'mmdet':
        pipeline = _det_pipelines(name, masks)['train' if train else 'test']
        if name == 'bccd':
            new = dict(type='BCCDDataset', data_root=root, ann_file=f'ImageSets/Main/{"train" if train else "val"}.txt',
                       data_prefix=dict(sub_data_root=''), pipeline=pipeline)
        else:
            new = dict(type='CocoDataset', data_root=root, ann_file=f'annotations/instances_{coco_split}.json',
                       data_prefix=dict(img=f'{coco_split}/'), pipeline=pipeline)
        new.update(dict(filter_cfg=dict(filter_empty_gt=True, min_size=8)) if train else dict(test_mode=True))
        return new
    if scope == 'mmseg':
        part = 'train' if train else 'val'
        pipeline = (
            [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
             dict(type='RandomResize', scale=(240, 180), ratio_range=(0.75, 1.5), keep_ratio=True),
             dict(type='RandomCrop', crop_size=CAMVID_CROP, cat_max_ratio=0.75), dict(type='RandomFlip', prob=0.5),
             dict(type='PackSegInputs')] if train else
            [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')])
        return dict(type='CamVidDataset', data_root=root,
                    data_prefix=dict(img_path=f'images/{part}', seg_map_path=f'labels/{part}'), pipeline=pipeline)
    # mmyolo and mmpose keep the recipe's pipelines (letterboxing and YOLO's collate; the pose codec's input size):
    # only where the data is, and for MMYOLO the dataset class of its format, change
    new = copy.deepcopy(dict(old))
    new.pop('metainfo', None)
    if scope == 'mmyolo' and name == 'bccd':
        new.pop('batch_shapes_cfg', None)  # YOLOv5CocoDataset's, which BCCDDataset does not take
        new.update(type='mmdet.BCCDDataset', data_root=root,
                   ann_file=f'ImageSets/Main/{"train" if train else "val"}.txt', data_prefix=dict(sub_data_root=''))
        if train:
            new['filter_cfg'] = dict(filter_empty_gt=True)
        else:  # CocoMetric without an annotation file reads the ground truth from the `instances` meta key
            _pass_instances(new.get('pipeline') or [])
    elif scope == 'mmyolo':
        new.update(type='YOLOv5CocoDataset', data_root=root, ann_file=f'annotations/instances_{coco_split}.json',
                   data_prefix=dict(img=f'{coco_split}/'))
    else:  # mmpose
        images = 'images/' if name == 'pose_minicoco' else ''
        new.update(data_root=root, ann_file=f'annotations/person_keypoints_{coco_split}.json',
                   data_prefix=dict(img=f'{images}{coco_split}/'))
        if not train:
            new['bbox_file'] = None  # the ground-truth person boxes, not a detector's
    return new


def _pass_instances(pipeline: List[Any]) -> None:
    """Add ``instances`` to the meta keys of a test pipeline's packing step (in place)."""
    for step in pipeline:
        if isinstance(step, dict) and str(step.get('type', '')).endswith('PackDetInputs'):
            keys = tuple(step.get('meta_keys') or ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
            step['meta_keys'] = keys + (() if 'instances' in keys else ('instances', ))


def _evaluator(name: str, scope: str, root: str, old: Any, masks: bool) -> Any:
    if scope == 'mmseg':
        return dict(type='IoUMetric', iou_metrics=['mIoU'])
    if name == 'bccd':  # VOC mAP@0.5 and COCO-style mAP from the dataset's own boxes
        prefix = 'mmdet.' if scope == 'mmyolo' else ''
        return [dict(type=f'{prefix}VOCMetric', metric='mAP', iou_thrs=[0.5], eval_mode='area'),
                dict(type=f'{prefix}CocoMetric', ann_file=None, metric='bbox')]
    ann = ('annotations/instances_val2017.json' if scope in ('mmdet', 'mmyolo') else
           'annotations/person_keypoints_val2017.json')
    if scope == 'mmdet':
        return dict(type='CocoMetric', ann_file=osp.join(root, ann), metric=['bbox', 'segm'] if masks else 'bbox')
    new = copy.deepcopy(dict(old)) if isinstance(old, dict) else dict(type='CocoMetric')
    if scope == 'mmyolo' and not isinstance(old, dict):
        new['type'] = 'mmdet.CocoMetric'
    new['ann_file'] = osp.join(root, ann)
    return new


def use_bundled_data(cfg: Config, name: str, data_root: Optional[str] = None) -> List[str]:
    """Swap, in place, the recipe's datasets, evaluators and class count for the bundled set ``name``.

    - MMDet (``tiny_coco``: COCO's 80 classes, held-out val2017; ``bccd``: 3 classes): the datasets and the
      CPU-sized pipelines of ``configs/datasets/`` (320-pixel images; masks where the recipe trains them);
      ``CocoMetric`` (BCCD: VOC mAP@0.5 and COCO-style mAP);
    - MMYOLO (``tiny_coco``: ``YOLOv5CocoDataset``; ``bccd``: ``BCCDDataset``, VOC mAP@0.5 and COCO-style mAP, the
      test pipeline passing the ground truth on) and MMPose (``tiny_coco``, ``pose_minicoco``: person keypoints):
      the recipe's pipelines (YOLO letterboxing and collate, the pose codec) on the bundled images and annotations;
      the evaluators' annotation file; pose validation on ground-truth person boxes;
    - MMSeg (``camvid``: 11 classes): ``CamVidDataset`` with the pipelines of ``configs/datasets/camvid.py``
      (176x176 crops, which become the data preprocessors' pad size), ``IoUMetric``.

    Inside a mixing wrapper with its own pipeline (MMDet's ``MultiImageMixDataset``: Mosaic, MixUp), the dataset
    only loads, and the wrapper's pipeline is kept. Every ``num_classes`` of the student's heads (and of a random
    teacher's, whose head has nothing to keep) is set to the set's class count. Wrappers (``RepeatDataset``, ...)
    are kept; the datasets inside them are replaced.
    The data root is :func:`dfd_razor_tools.data.resolve_data_root`'s (``data_root``, ``$DFD_DATA_ROOT``, the shared
    copy, the user cache, else a download).

    Returns:
        list[str]: what changed, one line each.
    """
    from .data import resolve_data_root
    scope = cfg.get('default_scope')
    if scope not in BUNDLED[name]:
        serves = sorted(n for n, scopes in BUNDLED.items() if scope in scopes)
        raise RecipeError(f'--data {name}: serves {"/".join(BUNDLED[name])} recipes, and this recipe\'s default_scope '
                          f'is {scope!r}' + (f'; use --data {" or ".join(serves)}' if serves else ''))
    root = osp.join(resolve_data_root([name], data_root), name) + '/'
    masks = scope == 'mmdet' and _loads_masks(cfg)
    if masks and name == 'bccd':
        raise RecipeError('--data bccd: the recipe trains instance masks (LoadAnnotations with_mask=True) and BCCD '
                          'has boxes only; use --data tiny_coco')
    replaced = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader) is None:
            continue
        split = 'train' if loader == 'train_dataloader' else 'val'
        top = cfg[loader].get('dataset') or {}
        # a mixing wrapper (MMDet's MultiImageMixDataset: YOLOX's Mosaic, MixUp) runs its own pipeline on what the
        # dataset inside it loads: there, the dataset only loads
        mixing = scope == 'mmdet' and 'dataset' in top and top.get('pipeline') is not None
        for key, dataset in list(leaf_datasets(top, f'{loader}.dataset')):
            new = _dataset(name, scope, split, root, dataset, masks)
            if mixing:
                new['pipeline'] = new['pipeline'][:2]  # LoadImageFromFile, LoadAnnotations
            dataset.clear()
            dataset.update(new)
            replaced.append(key)
    for evaluator in ('val_evaluator', 'test_evaluator'):
        if cfg.get(evaluator) is not None:
            cfg[evaluator] = _evaluator(name, scope, root, cfg[evaluator], masks)
    lines = [f'--data {name}: {", ".join(replaced)} read {root} (a trial on a small bundled set, not a benchmark)']
    if scope == 'mmseg':
        for key, node in _data_preprocessors(cfg):
            if node.get('size') is not None:
                node['size'] = CAMVID_CROP
                lines.append(f'--data {name}: {key}.size={CAMVID_CROP} (the bundled crops)')
    count = NUM_CLASSES.get(name)
    if count is not None:
        models = [('model.architecture', cfg.model.architecture)] if 'architecture' in cfg.model else [
            ('model', cfg.model)]
        if 'teacher' in cfg.model and not cfg.model.get('teacher_ckpt') and 'cfg_path' not in cfg.model.teacher:
            models.append(('model.teacher', cfg.model.teacher))
        for key, node in models:
            if isinstance(node, dict) and 'cfg_path' in node:
                raise RecipeError(f'--data {name}: {key} is a cfg_path model ({node["cfg_path"]}), whose num_classes '
                                  '--data cannot set; write it out as a model dict (or add --offline, which does)')
            for change in set_head_class_counts(node, key, count):
                lines.append(f'--data {name}: {change} ({count} classes)')
    return lines


def _data_preprocessors(cfg: Config) -> Iterator[Tuple[str, Any]]:
    """(config key, dict) of the recipe's data preprocessors: the top-level one and those in the model configs."""
    if isinstance(cfg.get('data_preprocessor'), dict):
        yield 'data_preprocessor', cfg.data_preprocessor

    def walk(node: Any, key: str) -> Iterator[Tuple[str, Any]]:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == 'data_preprocessor' and isinstance(v, dict):
                    yield f'{key}.{k}', v
                else:
                    yield from walk(v, f'{key}.{k}')
    yield from walk(cfg.model, 'model')


def _final_value(cfg: Config, line: str) -> str:
    """A ``--data`` class-count line (``--data camvid: KEY 19 -> 11 (11 classes)``), saying so when the
    ``--cfg-options`` merged after the swap set KEY to another value."""
    m = re.fullmatch(r'--data (\S+): (\S+) (\S+) -> (\S+) \(\d+ classes\)', line)
    if not m:
        return line
    node: Any = cfg
    for part in m.group(2).split('.'):
        try:
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return line
    if str(node) == m.group(4):
        return line
    change = f'stays {node}' if str(node) == m.group(3) else f'{m.group(3)} -> {node}'
    return f'--data {m.group(1)}: {m.group(2)} {change} (--cfg-options sets it; --data alone would set {m.group(4)})'


def apply_trial_options(cfg: Config, args: argparse.Namespace, cfg_options: Optional[dict] = None) -> List[str]:
    """Apply the trial options of ``args`` to ``cfg`` (loaded, with ``cfg_options`` merged); the lines to print.

    Order: the random teacher, ``--offline`` (which resolves MMRazor's ``cfg_path`` models), ``--data`` (after which
    ``cfg_options`` are merged again, so that an override of a swapped dataset wins), ``--offline`` again for what
    that merge brought back, ``--max-iters``, ``--no-validate``.
    """
    lines: List[str] = []
    offline = getattr(args, 'offline', False)
    if getattr(args, 'random_teacher', False):
        lines.append(use_random_teacher(cfg))
        offline = True
    if offline:
        lines += make_offline(cfg)
    if getattr(args, 'data', None):
        lines += use_bundled_data(cfg, args.data, getattr(args, 'data_root', None))
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
            lines = [_final_value(cfg, line) for line in lines]
            if offline:
                lines += make_offline(cfg)
    if getattr(args, 'max_iters', None) is not None:
        lines += limit_iterations(cfg, args.max_iters)
    if getattr(args, 'no_validate', False):
        lines.append(disable_validation(cfg))
    return lines
