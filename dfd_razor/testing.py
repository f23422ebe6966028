"""Helpers for smoke-testing recipes offline: the same overrides a user would pass, applied from Python."""
import os.path as osp
from typing import Any, Dict, List, Optional

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

    Drops ``init_cfg=dict(type='Pretrained', ...)`` and mmseg/mmpose-style ``pretrained=<url>`` entries at every
    depth. Used by tests on models the test builds itself (teachers to make checkpoints from, students of
    recipes); it never touches ``teacher_ckpt``.
    """
    model = ConfigDict(model.to_dict() if hasattr(model, 'to_dict') else dict(model))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            init = node.get('init_cfg')
            if isinstance(init, dict) and init.get('type') == 'Pretrained':
                node['init_cfg'] = None
            if isinstance(node.get('pretrained'), str):
                node['pretrained'] = None
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(model)
    return model


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
    torch.save({'state_dict': model.state_dict(), 'meta': {'made_by': 'dfd_razor.testing'}}, path)
    return path


def recipe_task(cfg: Config) -> str:
    """The OpenMMLab codebase a recipe trains in (its default scope)."""
    return cfg.get('default_scope', 'mmdet')


def discover(root: str) -> List[str]:
    """Every recipe config below ``root`` (``*.py``, sorted)."""
    import glob
    return sorted(p for p in glob.glob(osp.join(root, '**', '*.py'), recursive=True)
                  if not osp.basename(p).startswith('_'))


def tiny_batch(task: str, size: int = 128, batch_size: int = 1, with_mask: bool = False,
               num_classes: int = 80) -> Dict[str, Any]:
    """A packed training batch (``inputs`` + ``data_samples``) of random images with a few labelled objects.

    Args:
        task (str): The default scope: ``'mmdet'`` (more tasks are added with their recipes).
        size (int): Image height and width.
        batch_size (int): Number of images.
        with_mask (bool): Add instance masks (Mask R-CNN students).
        num_classes (int): Number of classes of the labels.
    """
    torch.manual_seed(0)
    if task == 'mmdet':
        from mmdet.testing import demo_mm_inputs
        return demo_mm_inputs(batch_size=batch_size, image_shapes=[(3, size, size)] * batch_size,
                              num_items=[3] * batch_size, num_classes=num_classes, with_mask=with_mask)
    raise ValueError(f'tiny_batch: no batch maker for task {task!r}')
