"""What tools/train.py and tools/test.py share: reading a recipe and checking it before a Runner is built.

Every check here turns a failure that upstream reports deep inside a Runner (or not at all) into one line that
names the file or config key.
"""
import argparse
import logging
import os
import os.path as osp
from typing import Any, Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log


class RecipeError(Exception):
    """A problem with the command line or the recipe, reported as one line."""


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
    cfg = Config.fromfile(path)
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


def _datasets(node: Any, key: str) -> Iterator[Tuple[str, Any]]:
    """(config key, dataset dict) of every dataset below a dataloader's ``dataset`` (wrappers included)."""
    if isinstance(node, dict):
        if 'data_root' in node or 'ann_file' in node or 'data_prefix' in node:
            yield key, node
        for k in ('dataset', 'datasets'):
            if k in node:
                child = node[k]
                if isinstance(child, (list, tuple)):
                    for i, c in enumerate(child):
                        yield from _datasets(c, f'{key}.{k}.{i}')
                else:
                    yield from _datasets(child, f'{key}.{k}')


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


def check_checkpoint(path: str) -> None:
    if not (path.startswith(('http://', 'https://', 's3://')) or osp.isfile(path)):
        raise RecipeError(f'checkpoint file not found: {path}')


def run_cli(main: Any) -> None:
    """Run ``main()``, reporting RecipeError and the errors our checks raise as one line, exit status 2."""
    import sys
    try:
        main()
    except RecipeError as e:
        print_log(f'error: {e}', logger='current', level=logging.ERROR)
        sys.exit(2)
