"""Running a recipe without network access: ``--offline`` drops every pretrained initialisation of its models, and a
failed download without it is one line naming the config key and ``--offline``.

A recipe's models reach pretrained weights in three forms, all handled here:

- ``init_cfg=dict(type='Pretrained', checkpoint=...)`` at any depth (MMDet/MMYOLO/MMPose backbones; also an entry
  of an ``init_cfg`` list);
- a ``pretrained=<url or path>`` key (MMSeg's ``EncoderDecoder`` turns it into its backbone's ``init_cfg``; some
  backbones take ``pretrained=True``);
- MMRazor's ``teacher=dict(cfg_path='mmdet::...', pretrained=...)`` (or ``architecture=...``), which mmengine's
  ``get_model`` builds from the codebase's config, whose backbone usually starts from ImageNet weights, and, with
  ``pretrained=True``, loads the config's model-zoo checkpoint. ``--cfg-options`` cannot reach inside it, so
  :func:`make_offline` replaces it by the model config it names (:func:`resolve_cfg_path`), then drops as above.

``model.teacher_ckpt`` is not an initialisation: it is the teacher (``--no-teacher`` / ``--random-teacher`` replace
it). ``tests/testing_helpers.py`` uses :func:`offline_model_cfg` for the models the tests build.
"""
import contextlib
import copy
import http.client
import socket
import urllib.error
from typing import Any, Iterator, List, Optional, Tuple

from mmengine.config import Config, ConfigDict

from dfd_razor.errors import RecipeError

#: what a failed download raises below mmengine's checkpoint loaders (torch.hub's urlopen)
DOWNLOAD_ERRORS = (urllib.error.URLError, socket.timeout, ConnectionError, http.client.HTTPException)


def _is_pretrained_init(node: Any) -> bool:
    return isinstance(node, dict) and str(node.get('type', '')).split('.')[-1] == 'Pretrained'


def _describe_init(init: dict) -> str:
    return f"Pretrained {init.get('checkpoint')}" + (f" (prefix {init['prefix']!r})" if init.get('prefix') else '')


def pretrained_inits(node: Any, key: str, drop: bool = False) -> List[Tuple[str, str]]:
    """(config key, what it loads) of every pretrained initialisation in a model config; with ``drop``, each is also
    removed in place (``init_cfg`` set to None or the entry taken out of its list, ``pretrained`` set to None or
    False).

    Args:
        node: A model config (dict) or any node below it.
        key (str): The dotted config key of ``node`` (``'model.architecture'``), for the names returned.
        drop (bool): Remove what is found.
    """
    found: List[Tuple[str, str]] = []
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if _is_pretrained_init(init):
            found.append((f'{key}.init_cfg', _describe_init(init)))
            if drop:
                node['init_cfg'] = None
        elif isinstance(init, (list, tuple)):
            kept = []
            for i, entry in enumerate(init):
                if _is_pretrained_init(entry):
                    found.append((f'{key}.init_cfg.{i}', _describe_init(entry)))
                else:
                    kept.append(entry)
            if drop and len(kept) != len(init):
                node['init_cfg'] = kept or None
        pretrained = node.get('pretrained')
        if 'cfg_path' not in node and (isinstance(pretrained, str) or pretrained is True):
            found.append((f'{key}.pretrained', f'pretrained={pretrained!r}'))
            if drop:
                node['pretrained'] = None if isinstance(pretrained, str) else False
        for k, value in node.items():
            if k != 'init_cfg':
                found += pretrained_inits(value, f'{key}.{k}', drop)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            found += pretrained_inits(value, f'{key}.{i}', drop)
    return found


def resolve_cfg_path(node: dict) -> ConfigDict:
    """The model config that MMRazor's ``dict(cfg_path='pkg::path.py', pretrained=...)`` stands for.

    What mmengine's ``get_model`` builds: the config's ``model``, with its top-level ``data_preprocessor`` where it
    has one, built in the codebase's scope (``_scope_``); the ``pretrained`` flag (a model-zoo checkpoint) is left
    out, so this is the model as ``pretrained=False`` builds it. Other keys of ``node`` are the build's default
    arguments and are kept.
    """
    from mmengine.hub import get_config
    path = node['cfg_path']
    config = get_config(path)
    model = ConfigDict(copy.deepcopy(config.model.to_dict()))
    if 'data_preprocessor' in config:
        model['data_preprocessor'] = copy.deepcopy(config.data_preprocessor.to_dict())
    model.setdefault('_scope_', path.split('::')[0])
    for k, v in node.items():
        if k not in ('cfg_path', 'pretrained'):
            model.setdefault(k, v)
    return model


def model_parts(cfg: Config) -> List[Tuple[str, Any]]:
    """(config key, model config) of the models a recipe builds: ``model.architecture`` and ``model.teacher`` of a
    distillation algorithm, else ``model``."""
    model = cfg.get('model')
    if model is None:
        return []
    if 'architecture' in model or 'teacher' in model:
        return [(f'model.{k}', model[k]) for k in ('architecture', 'teacher') if isinstance(model.get(k), dict)]
    return [('model', model)]


def describe_cfg_path(node: Any) -> Optional[str]:
    """``'mmdet::retinanet/....py'`` for MMRazor's ``cfg_path`` form, else None."""
    return node['cfg_path'] if isinstance(node, dict) and 'cfg_path' in node else None


def make_offline(cfg: Config) -> List[str]:
    """Drop, in place, every pretrained initialisation of the recipe's models; one line per drop, naming its key.

    MMRazor's ``cfg_path`` form is first replaced by the model config it names (:func:`resolve_cfg_path`); its
    ``pretrained=True`` (the config's model-zoo checkpoint) is one of the drops. A ``load_from`` URL goes too.
    ``model.teacher_ckpt`` is kept.

    Returns:
        list[str]: ``'--offline: model.teacher.backbone.init_cfg (Pretrained torchvision://resnet50, from
        mmdet::retinanet/retinanet_r50_fpn_1x_coco.py) dropped: random initialisation'``, one per drop.
    """
    lines = []
    for key, node in model_parts(cfg):
        source = ''
        path = describe_cfg_path(node)
        if path is not None:
            if node.get('pretrained'):
                lines.append(f'--offline: {key}.pretrained (the model-zoo checkpoint of {path}) dropped: random '
                             'initialisation')
            cfg.model[key.split('.', 1)[1]] = resolve_cfg_path(node)
            node = cfg.model[key.split('.', 1)[1]]  # the stored one (ConfigDict may copy what it is given)
            source = f', from {path}'
        target = node if key != 'model' else cfg.model
        for where, what in pretrained_inits(target, key, drop=True):
            lines.append(f'--offline: {where} ({what}{source}) dropped: random initialisation')
    load_from = cfg.get('load_from')
    if isinstance(load_from, str) and '://' in load_from:
        lines.append(f'--offline: load_from ({load_from}) dropped')
        cfg.load_from = None
    return lines


def offline_model_cfg(model: Any) -> ConfigDict:
    """A copy of a model config with every pretrained initialisation dropped (:func:`pretrained_inits`); a
    ``cfg_path`` model is resolved first. For models built outside a recipe (tests, teachers to make checkpoints
    from); ``teacher_ckpt`` is not touched."""
    model = ConfigDict(model.to_dict() if hasattr(model, 'to_dict') else copy.deepcopy(dict(model)))
    if 'cfg_path' in model:
        model = resolve_cfg_path(model)
    pretrained_inits(model, 'model', drop=True)
    return model


def download_message(cfg: Config, error: BaseException, option: str = '--offline') -> str:
    """One line for a download that failed while a recipe's models were built or initialised: the error, the config
    keys of every pretrained initialisation (those inside a ``cfg_path`` model named through it) and the fix."""
    inits = []
    for key, node in model_parts(cfg):
        path = describe_cfg_path(node)
        if path is not None:
            if node.get('pretrained'):
                inits.append(f'{key}.pretrained (the model-zoo checkpoint of {path})')
            node = resolve_cfg_path(node)
        target = node if key != 'model' else cfg.model
        inits += [f'{where} ({what}{f", in {path}" if path else ""})'
                  for where, what in pretrained_inits(copy.deepcopy(target), key)]
    text = str(error).splitlines()[0].strip('\'"') if str(error) else repr(error)
    where = (f'from {" or ".join(inits)}' if inits else
             '(no pretrained initialisation in model.architecture/model.teacher: a checkpoint URL elsewhere?)')
    return (f'download failed ({type(error).__name__}: {text}) initialising pretrained weights {where}; without '
            f'network, rerun with {option}, which drops each of them, named (random weights: for wiring checks and '
            'smoke runs), or put the files in the torch hub cache ($TORCH_HOME/hub/checkpoints)')


@contextlib.contextmanager
def download_errors(cfg: Config, option: str = '--offline') -> Iterator[None]:
    """Turn a failed download (``URLError`` and kin) into a :class:`RecipeError` of :func:`download_message`."""
    try:
        yield
    except DOWNLOAD_ERRORS as e:
        raise RecipeError(download_message(cfg, e, option)) from e
