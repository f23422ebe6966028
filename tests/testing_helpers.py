"""Helpers for smoke-testing recipes offline: the same overrides a user would pass, applied from Python."""
import json
import os.path as osp
import subprocess
import textwrap
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope


def load_recipe(path: str, options: Optional[Dict[str, Any]] = None) -> Config:
    """``Config.fromfile`` plus ``--cfg-options``-style overrides (``options``), as tools/train.py applies them."""
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def offline_model_cfg(model: ConfigDict) -> ConfigDict:
    """A copy of a model config whose backbones start from random weights instead of downloading them.

    The tools' ``--offline`` logic (:func:`dfd_razor_tools.offline.offline_model_cfg`): drops every
    ``init_cfg=dict(type='Pretrained', ...)`` and ``pretrained=<url>`` entry at every depth, and resolves MMRazor's
    ``cfg_path`` form. Used by tests on models the test builds itself (teachers to make checkpoints from, students of
    recipes); it never touches ``teacher_ckpt``.
    """
    from dfd_razor_tools.offline import offline_model_cfg as drop_pretrained
    return drop_pretrained(model)


def offline_options(cfg: Config) -> Dict[str, Any]:
    """The ``--cfg-options`` that let a recipe's student build without network access."""
    key = 'model.architecture' if 'architecture' in cfg.model else 'model'
    node = cfg.model.architecture if 'architecture' in cfg.model else cfg.model
    return {key: offline_model_cfg(node).to_dict()} if node is not None else {}


def make_teacher_checkpoint(cfg: Config, path: str) -> str:
    """Build the recipe's teacher from its config (random init) and save its state_dict to ``path``.

    Stands in for the model-zoo checkpoint a real run downloads; the recipe reaches it through
    ``model.teacher_ckpt=path``, the override a user would pass.
    """
    from mmengine.hub import get_config
    from mmrazor.registry import MODELS
    teacher = cfg.model.teacher
    if 'cfg_path' in teacher:
        teacher = get_config(teacher['cfg_path']).model
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(offline_model_cfg(teacher))
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {'made_by': 'testing_helpers'}}, path)
    return path


def recipe_task(cfg: Config) -> str:
    """The OpenMMLab codebase a recipe trains in (its default scope)."""
    return cfg.get('default_scope', 'mmdet')


def model_num_classes(model: Any) -> Optional[int]:
    """The number of classes a task model predicts (``decode_head``, ``bbox_head`` or ``roi_head.bbox_head``), or
    None when none of them says (the caller then uses the task's default)."""
    for path in ('decode_head', 'bbox_head', 'roi_head.bbox_head'):
        node = model
        for part in path.split('.'):
            node = getattr(node, part, None)
        if isinstance(getattr(node, 'num_classes', None), int):
            return node.num_classes
    return None


def recipe_loads_masks(cfg: Config) -> bool:
    """Whether the recipe's training pipeline loads instance masks (``LoadAnnotations(with_mask=True)``)."""
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    while 'pipeline' not in dataset and 'dataset' in dataset:  # dataset wrappers (RepeatDataset, ...)
        dataset = dataset['dataset']
    return any(isinstance(t, dict) and 'LoadAnnotations' in str(t.get('type')) and t.get('with_mask', False)
               for t in dataset.get('pipeline', []))


def discover(root: str) -> List[str]:
    """Every recipe config below ``root`` (``*.py``, sorted)."""
    import glob
    return sorted(p for p in glob.glob(osp.join(root, '**', '*.py'), recursive=True)
                  if not osp.basename(p).startswith('_'))


#: Label count of :func:`tiny_batch` when the caller gives none: COCO's 80 classes for detection, Cityscapes' 19
#: for semantic segmentation (the datasets of the recipes).
TASK_NUM_CLASSES = {'mmdet': 80, 'mmyolo': 80, 'mmseg': 19}


def tiny_batch(task: str, size: int = 128, batch_size: int = 1, with_mask: bool = False,
               num_classes: Optional[int] = None) -> Dict[str, Any]:
    """A packed training batch (``inputs`` + ``data_samples``) of random images with a few labels, as the task's
    dataloader (dataset pipeline + collate function) hands it to the model's data preprocessor.

    - ``'mmdet'``: :func:`mmdet.testing.demo_mm_inputs` (lists of uint8 images and ``DetDataSample``), 3 boxes each,
      labels in [0, num_classes).
    - ``'mmyolo'``: the same samples through :func:`mmyolo.datasets.yolov5_collate`, the collate function of MMYOLO
      configs: a stacked image tensor and ``data_samples=dict(bboxes_labels=Tensor[K, 6])`` (batch index, label,
      x1, y1, x2, y2), which ``YOLOv5DetDataPreprocessor`` requires in training.
    - ``'mmpose'``: :func:`mmpose.testing.get_packed_inputs`: top-down crops of ``size`` x ``size`` with one person
      each, 17 keypoints, and target heatmaps of ``size/4`` x ``size/4`` (``gt_fields.heatmaps``, the stride of
      SimpleBaseline heads).
    - ``'mmseg'``: ``SegDataSample`` with a ``gt_sem_seg`` label map of random classes, 1/8 of it 255 (ignored).

    Args:
        task (str): The default scope: ``'mmdet'``, ``'mmyolo'``, ``'mmpose'`` or ``'mmseg'``.
        size (int): Image height and width.
        batch_size (int): Number of images.
        with_mask (bool): Add instance masks (``'mmdet'``: Mask R-CNN students).
        num_classes (int, optional): Number of classes of the labels; defaults to :data:`TASK_NUM_CLASSES`.
    """
    torch.manual_seed(0)
    num_classes = TASK_NUM_CLASSES.get(task) if num_classes is None else num_classes
    if task in ('mmdet', 'mmyolo'):
        from mmdet.testing import demo_mm_inputs
        # demo_mm_inputs draws labels in [1, num_classes); wrapped so that every class index fits, 1-class heads too.
        batch = demo_mm_inputs(batch_size=batch_size, image_shapes=[(3, size, size)] * batch_size,
                               num_items=[3] * batch_size, num_classes=max(num_classes, 2), with_mask=with_mask)
        for sample in batch['data_samples']:
            sample.gt_instances.labels = sample.gt_instances.labels % num_classes
        if task == 'mmdet':
            return batch
        from mmdet.structures.bbox import HorizontalBoxes
        from mmyolo.datasets.utils import yolov5_collate
        samples = []
        for inputs, sample in zip(batch['inputs'], batch['data_samples']):
            sample.gt_instances.bboxes = HorizontalBoxes(sample.gt_instances.bboxes)
            samples.append(dict(inputs=inputs, data_samples=sample))
        return yolov5_collate(samples)
    if task == 'mmpose':
        from mmpose.testing import get_packed_inputs
        return get_packed_inputs(batch_size=batch_size, img_shape=(size, size), input_size=(size, size),
                                 heatmap_size=(size // 4, size // 4), with_reg_label=False,
                                 with_simcc_label=False)
    if task == 'mmseg':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        generator = torch.Generator().manual_seed(0)
        inputs, samples = [], []
        for _ in range(batch_size):
            inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=generator))
            label = torch.randint(0, num_classes, (1, size, size), generator=generator)
            label[:, :size // 8] = 255
            sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                                 pad_shape=(size, size), img_path='<demo>.png'))
            sample.gt_sem_seg = PixelData(data=label)
            samples.append(sample)
        return dict(inputs=inputs, data_samples=samples)
    raise ValueError(f'tiny_batch: no batch maker for task {task!r}; known: mmdet, mmyolo, mmpose, mmseg')


def clone_state(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A detached copy of a state dict, to compare a model's weights before and after something happens."""
    from collections import OrderedDict
    return OrderedDict((k, v.detach().clone()) for k, v in state.items())


def states_equal(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> bool:
    """Whether two state dicts hold the same keys and exactly equal tensors."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def shrink_sizes(node: Any, factor: float, keys: Sequence[str]) -> None:
    """Scale, in place, every image size under ``keys`` (an int or a tuple of ints; None is left alone) in a
    nested config node such as a pipeline, so that a real recipe's Runner test trains on small images."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and value is not None:
                node[key] = (int(value * factor) if isinstance(value, int) else
                             type(value)(int(v * factor) for v in value))
            else:
                shrink_sizes(value, factor, keys)
    elif isinstance(node, (list, tuple)):
        for value in node:
            shrink_sizes(value, factor, keys)


def isolated_script(mode: str, code: str, module_path: str, name: str, then: str) -> str:
    """A script for a fresh interpreter that runs ``code`` after the preamble of ``mode`` and prints its ``result``
    dict on one ``RESULT <json>`` line, with ``dfd_razor_imported`` added (read it back with ``isolated_result``).

    Modes: ``none``, nothing of dfd_razor imported; ``package``, ``import dfd_razor`` first; any other, only the
    module at ``module_path`` loaded standalone as ``name`` (the package's ``__init__`` does not run), then the
    statement ``then`` (for example ``compat.FIXES['checkpoint_globals']()``).
    """
    if mode == 'none':
        preamble = 'import sys\n'
    elif mode == 'package':
        preamble = 'import sys\nimport dfd_razor\n'
    else:
        preamble = textwrap.dedent(f"""\
            import importlib.util, sys
            _spec = importlib.util.spec_from_file_location('_dfd_{name}_alone', {str(module_path)!r})
            {name} = importlib.util.module_from_spec(_spec)
            sys.modules[_spec.name] = {name}
            _spec.loader.exec_module({name})
            """) + then + '\n'
    return preamble + 'import json\nresult = {}\n' + textwrap.dedent(code) + textwrap.dedent("""
        result['dfd_razor_imported'] = 'dfd_razor' in sys.modules
        print('RESULT ' + json.dumps(result))
        """)


def isolated_result(proc: subprocess.CompletedProcess, mode: Optional[str] = None, what: str = '') -> Dict[str, Any]:
    """The last ``RESULT <json>`` dict a subprocess printed; asserts it succeeded. For an ``isolated_script`` run
    (``mode`` given) also that it imported dfd_razor only in mode ``package`` (else the ``what`` under test was not
    isolated)."""
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')]
    assert proc.returncode == 0 and lines, f'subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}'
    result = json.loads(lines[-1][len('RESULT '):])
    if mode is not None:
        assert result.pop('dfd_razor_imported') == (mode == 'package'), f'the {what} under test is not isolated'
    return result
