"""What tools/train.py and tools/test.py share: reading a recipe and checking it before a Runner is built.

Every check here turns a failure that upstream reports deep inside a Runner (or not at all) into one line that
names the file or config key: :class:`RecipeError` (``dfd_razor.errors``), printed by :func:`run_cli` without a
traceback unless the command line has ``--debug``.
"""
import argparse
import contextlib
import difflib
import os
import os.path as osp
import re
import sys
from typing import Any, Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict, DictAction

from dfd_razor.errors import RecipeError  # noqa: F401  (raised by the tools as dfd_razor_tools.launch.RecipeError)

from .classes import walk_datasets


def common_parser(description: str) -> argparse.ArgumentParser:
    """Arguments shared by train and test: config, work dir, cfg options, launcher, local rank."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='recipe (config file) path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints (default: work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, key=value (e.g. model.teacher_ckpt=teacher.pth '
                        'train_dataloader.dataset.data_root=/data/coco/)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    # torch.distributed.launch passes --local_rank (torch 1.x) or --local-rank (torch 2.x); torchrun passes neither
    # and sets LOCAL_RANK. MMRazor's train.py accepts only the first (mmrazor #599).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=None, dest='local_rank')
    return parser


def set_local_rank(args: argparse.Namespace) -> None:
    if args.local_rank is not None and 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


def load_config(path: str, cfg_options: dict, work_dir: Optional[str], launcher: str) -> Config:
    """Read a recipe, apply overrides, choose the work dir, and make distributed runs work on CPU (gloo)."""
    if not osp.isfile(path):
        raise RecipeError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except (AttributeError, NameError, TypeError, KeyError) as e:  # the recipe's Python, run by mmengine
        raise RecipeError(config_code_error(path, e)) from e
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get('work_dir') or osp.join('work_dirs', osp.splitext(osp.basename(path))[0])
    if launcher != 'none' and not torch.cuda.is_available():
        # No GPU: gloo instead of nccl, and DDP over CPU modules (device_ids must be None there). mmengine's
        # init_dist calls torch.cuda.set_device unconditionally, which a CPU torch lacks; the Runner skips
        # init_dist when a process group exists, so a torchrun launch gets its gloo group here.
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        if launcher == 'pytorch' and not torch.distributed.is_initialized():
            torch.distributed.init_process_group(backend='gloo')
        wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                                                      find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    return cfg


def distill_part(cfg: Config, key: str, option: str = '') -> ConfigDict:
    """``model.<key>`` of a distillation recipe (``'architecture'``, the student; ``'teacher'``) as a model config:
    MMRazor's ``dict(cfg_path='pkg::path.py', ...)`` form is the ``model`` of the config it names.

    Raises:
        RecipeError: the recipe's model has no ``key`` (not a distillation recipe); ``option`` (``'--teacher'``)
            starts the message.
    """
    if key not in cfg.model:
        raise RecipeError(f'{option + ": " if option else ""}{cfg.filename} is not a distillation recipe '
                          f'(no model.{key})')
    node = cfg.model[key]
    if 'cfg_path' in node:
        from mmengine.hub import get_config
        node = get_config(node['cfg_path']).model
    return ConfigDict(node)


def config_code_error(path: str, error: BaseException) -> str:
    """One line for an error raised by a config file's own code: the file and line, the error, and for the common
    slip of attribute access on a plain dict (``model.distiller...`` after ``model = dict(distiller=...)``) how to
    write it."""
    import traceback

    import mmengine
    frames = [f for f in traceback.extract_tb(error.__traceback__)  # the config's own frames, not mmengine's
              if not osp.abspath(f.filename).startswith(osp.dirname(osp.abspath(mmengine.__file__)))]
    where = f'{frames[-1].filename}, line {frames[-1].lineno}' if frames else path
    text = str(error).splitlines()[0].strip('"') if str(error) else repr(error)
    message = f'{where}: {type(error).__name__}: {text}'
    if isinstance(error, AttributeError) and "'dict' object has no attribute" in str(error):
        message += (" (a dict written in a config file, e.g. model = dict(distiller=_base_.method), is a plain dict: "
                    "reach into it with items, model['distiller'].levels.loss.update(alpha=..., beta=...); what "
                    'comes from _base_ is a ConfigDict, with attribute access)')
    return message


def _datasets(node: Any, key: str) -> Iterator[Tuple[str, Any]]:
    """(config key, dict) of every dataset below a dataloader's ``dataset`` that names files (``data_root``,
    ``ann_file`` or ``data_prefix``), wrappers included."""
    return ((k, n) for k, n in walk_datasets(node, key) if {'data_root', 'ann_file', 'data_prefix'} & set(n))


def check_data(cfg: Config, loaders: List[str]) -> None:
    """Every dataset's ``data_root`` (and ``ann_file`` under it) of the given dataloaders must exist."""
    for loader in loaders:
        if cfg.get(loader) is None:
            continue
        for key, ds in _datasets(cfg[loader].get('dataset'), f'{loader}.dataset'):
            root = ds.get('data_root')
            if root is not None and not osp.isdir(root):
                raise RecipeError(f'{key}.data_root: {root} does not exist (set it with --cfg-options '
                                  f'{key}.data_root=/path/to/data/)')
            ann = ds.get('ann_file')
            if ann:
                full = ann if osp.isabs(ann) or root is None else osp.join(root, ann)
                if not osp.isfile(full):
                    raise RecipeError(f'{key}.ann_file: {full} does not exist')


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """``--debug``: :func:`run_cli` lets a RecipeError through with its traceback instead of the one-line report."""
    parser.add_argument('--debug', action='store_true',
                        help='on bad input, show the full traceback instead of the one-line error')


# mmengine's build_from_cfg re-raises an error from inside a build as type(e)(f'class `X` in path.py: {e}'), once per
# nesting level (algorithm, distiller, loss): the prefixes say where upstream's code was, not what was wrong.
_BUILD_PREFIX = re.compile(r'class `\w+` in [\w./\\-]+\.py: ')


def error_message(error: BaseException) -> str:
    """The message of a RecipeError without mmengine's build prefixes."""
    return _BUILD_PREFIX.sub('', str(error))


def run_cli(main: Any) -> None:
    """Run ``main()``, reporting a RecipeError (ours, or one raised inside a Runner: a checkpoint, a dataset, a
    distiller level) as one line without traceback, exit status 2. With ``--debug`` on the command line (the tools
    that accept it, :func:`add_debug_flag`), the error propagates with its traceback."""
    try:
        main()
    except RecipeError as e:
        if '--debug' in sys.argv[1:]:
            raise
        # a plain line on stderr: mmengine's ERROR format would put its own file, function and line in front
        print(f'error: {error_message(e)}', file=sys.stderr, flush=True)
        sys.exit(2)


# mmengine's Registry.build: "<type> is not in the <scope>::<registry> registry. Please check ..." (a KeyError).
_NOT_REGISTERED = re.compile(r'([A-Za-z_][\w.]*) is not in the ([\w.]+)::(\w+) registry')


def config_keys_with_value(node: Any, value: Any, key: str = '', field: str = 'type') -> List[str]:
    """Dotted keys (``model.distiller.levels.loss.type``, ``train_dataloader.dataset.pipeline.2.type``) of every
    ``field`` entry equal to ``value`` in a config tree."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            child = f'{key}.{k}' if key else str(k)
            if k == field and v == value:
                found.append(child)
            found += config_keys_with_value(v, value, child, field)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found += config_keys_with_value(v, value, f'{key}.{i}', field)
    return found


def _registered_names(registry_name: str) -> List[str]:
    """Every name registered in the registries called ``registry_name`` ('model', 'transform', ...), all scopes."""
    from mmengine import registry as mmengine_registry
    roots = [r for r in vars(mmengine_registry).values()
             if isinstance(r, mmengine_registry.Registry) and r.name == registry_name]
    names, stack = set(), list(roots)
    while stack:
        registry = stack.pop()
        names.update(registry.module_dict)
        stack.extend(registry.children.values())
    return sorted(names)


def unregistered_type(cfg: Config, error: BaseException) -> Optional[str]:
    """One line for mmengine's "X is not in the S::R registry" error: the config key(s) naming X, and a close match.

    Returns None for any other error.
    """
    match = _NOT_REGISTERED.search(str(error))
    if not isinstance(error, KeyError) or match is None:
        return None
    name, scope, registry = match.groups()
    keys = config_keys_with_value(cfg.to_dict(), name)
    close = difflib.get_close_matches(name, _registered_names(registry), n=1)
    where = f'{", ".join(keys)}: ' if keys else ''
    hint = f'; did you mean {close[0]!r}?' if close else ''
    return f'{where}type {name!r} is not registered (searched the {scope}::{registry} registry){hint}'


@contextlib.contextmanager
def recipe_errors(cfg: Config) -> Iterator[None]:
    """Turn an unregistered type, which mmengine reports deep inside a build, into a RecipeError naming its key."""
    try:
        yield
    except KeyError as e:
        message = unregistered_type(cfg, e)
        if message is None:
            raise
        raise RecipeError(message) from e


def build_dataloaders(runner: Any, cfg: Config, loaders: List[str]) -> None:
    """Build the loops of ``loaders`` (``'train_dataloader'``, ``'val_dataloader'``, ``'test_dataloader'``) now,
    so that an empty dataset is one line naming the dataloader key, its data root and annotation file.

    The Runner builds them anyway when it starts (``runner.train()``, ``runner.test()``), through the same
    properties; building them here only moves that before the first iteration's output. An empty dataset fails
    inside mmengine's BaseDataset (``need at least one array to concatenate``) or, unserialised, gives an empty
    loader; in both cases the dataset is rebuilt here to say what is empty.
    """
    for loader in loaders:
        if cfg.get(loader) is None:
            continue
        try:
            loop = getattr(runner, loader.replace('_dataloader', '_loop'))
        except Exception as e:
            message = empty_dataset(cfg, loader)
            if message is None:
                raise
            raise RecipeError(message) from e
        dataloader = getattr(loop, 'dataloader', None)
        if dataloader is not None and len(dataloader.dataset) == 0:
            raise RecipeError(empty_dataset(cfg, loader) or f'{loader}.dataset has no samples')


def empty_dataset(cfg: Config, loader: str) -> Optional[str]:
    """One line naming the first dataset of ``loader`` with no samples, its ann_file and data root, and whether
    ``filter_cfg`` removed them all; None when every dataset has samples (or cannot be built here)."""
    import copy

    from mmengine.registry import DATASETS
    for key, node in _datasets(cfg[loader].get('dataset'), f'{loader}.dataset'):
        if 'type' not in node:
            continue
        # unserialised: mmengine's serialisation of an empty list is what fails
        built = _build_quietly(DATASETS, dict(copy.deepcopy(node), serialize_data=False, lazy_init=False))
        if built is None or len(built) > 0:
            continue
        ann_file = getattr(built, 'ann_file', None) or node.get('ann_file')
        where = f'ann_file {ann_file} (data_root {node.get("data_root")})'
        if node.get('filter_cfg'):
            unfiltered = _build_quietly(DATASETS, dict(copy.deepcopy(node), serialize_data=False, lazy_init=False,
                                                       filter_cfg=None))
            if unfiltered is not None and len(unfiltered) > 0:
                return (f'{key}: no samples: {key}.filter_cfg={dict(node["filter_cfg"])} removes all '
                        f'{len(unfiltered)} of {where}')
        return f'{key}: no samples in {where}'
    return None


def _build_quietly(registry: Any, node: dict) -> Optional[Any]:
    try:
        return registry.build(node)
    except Exception:  # diagnosis only: the caller re-raises the original error
        return None
