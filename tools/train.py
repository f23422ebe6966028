"""Train a recipe (distillation or plain student) of any task: detection, YOLO, pose, segmentation.

    python tools/train.py recipes/retinanet/dfd_fpn_retina-x101_retina-r50_2x_coco.py [--amp] [--resume]
        [--work-dir DIR] [--cfg-options model.teacher_ckpt=teacher.pth ...] [--launcher pytorch] [--debug]
        [--offline] [--random-teacher] [--max-iters N] [--no-validate] [--data tiny_coco|camvid|bccd|pose_minicoco]

Trying a recipe (dfd_razor_tools.trial): ``--offline`` drops every pretrained initialisation of student and teacher,
each named in one line (without it, a failed download is one line naming the config key and ``--offline``);
``--random-teacher`` distils from a random teacher (``model.teacher_ckpt=None``, ``model.allow_random_teacher=True``;
implies ``--offline``), which the run says when it starts and in every validation line; ``--max-iters N`` trains N
iterations (an epoch-based recipe becomes iteration-based); ``--no-validate`` drops the validation loop; ``--data``
swaps the datasets, metric and class count for a bundled small set. A head whose class count differs from its
dataset's is an error naming both.

The default scope (mmdet, mmyolo, mmpose, mmseg) comes from the config. Progress and ETA are logged by mmengine's
LoggerHook every `default_hooks.logger.interval` iterations. Bad input (a missing or unreadable file, an empty
dataset, an unregistered type, a level beyond its module's outputs) is one line naming the file or config key, exit
status 2; `--debug` shows the traceback instead.

AMP (`--amp`, or an `AmpOptimWrapper` in the config) on a machine without an accelerator runs as bfloat16 autocast on
CPU (`dfd_razor.engine.CPUAmpOptimWrapper`, registered at `import dfd_razor`, so the saved config builds wherever
dfd_razor is imported): mmengine's `AmpOptimWrapper` refuses to start without a GPU/NPU/MLU/MUSA.
"""
import argparse
import logging

import torch

import dfd_razor  # noqa: F401  (compatibility fixes, DFD modules and CPUAmpOptimWrapper, before anything is built)
from dfd_razor.checkpoint import check_checkpoint_readable
from dfd_razor_tools import hooks  # noqa: F401  (registers RandomTeacherHook)
from dfd_razor_tools.classes import check_num_classes
from dfd_razor_tools.launch import (RecipeError, add_debug_flag, build_dataloaders, check_data, common_parser,
                                    load_config, recipe_errors, run_cli, set_local_rank)
from dfd_razor_tools.offline import download_errors
from dfd_razor_tools.trial import add_random_teacher_hook, add_trial_arguments, apply_trial_options, random_teacher
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.runner import Runner


def parse_args() -> argparse.Namespace:
    parser = common_parser('Train a dfd-razor recipe')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (AmpOptimWrapper)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from the latest checkpoint in the work dir, or from the given checkpoint')
    parser.add_argument('--teacher-val', action='store_true',
                        help='validation evaluates the teacher too (MMRazor SingleTeacherDistillValLoop): '
                        'teacher.<metric> beside the student\'s metrics in the log')
    add_trial_arguments(parser, train=True)
    add_debug_flag(parser)
    args = parser.parse_args()
    set_local_rank(args)
    return args


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    for line in apply_trial_options(cfg, args, args.cfg_options):
        print(line, flush=True)
    if random_teacher(cfg):  # --random-teacher, or the two keys set by hand: the log says so throughout
        if not args.random_teacher:
            print('WARNING: the teacher is RANDOM (model.teacher_ckpt=None, model.allow_random_teacher=True): this '
                  'run checks the wiring, its values say nothing about distillation', flush=True)
        add_random_teacher_hook(cfg)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper == 'AmpOptimWrapper':
            print_log('AMP is already enabled in the config', logger='current', level=logging.WARNING)
        else:
            if wrapper != 'OptimWrapper':
                raise SystemExit(f'--amp needs optim_wrapper.type OptimWrapper, the config has {wrapper}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper' and get_device() == 'cpu':
        if cfg.optim_wrapper.get('dtype') not in (None, 'bfloat16', torch.bfloat16):
            print_log(f'AMP on CPU runs in bfloat16, not {cfg.optim_wrapper.dtype}', logger='current',
                      level=logging.WARNING)
        cfg.optim_wrapper.type, cfg.optim_wrapper.dtype = 'CPUAmpOptimWrapper', 'bfloat16'
        print_log('no GPU: AMP runs as bfloat16 autocast on CPU, without loss scaling (CPUAmpOptimWrapper)',
                  logger='current')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        check_checkpoint_readable(args.resume, '--resume')  # before the Runner, whose load error is a traceback
        cfg.resume, cfg.load_from = True, args.resume
    if args.teacher_val:
        if args.no_validate:
            raise RecipeError('--teacher-val and --no-validate: the first needs the validation loop the second drops')
        if 'teacher' not in cfg.model:
            raise RecipeError(f'--teacher-val: {args.config} has no teacher (model.teacher)')
        if cfg.get('val_cfg') is None:
            raise RecipeError(f'--teacher-val: {args.config} has no validation loop (val_cfg)')
        cfg.val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
    check_num_classes(cfg, ['train_dataloader', 'val_dataloader'])
    check_data(cfg, ['train_dataloader', 'val_dataloader'])
    with recipe_errors(cfg), download_errors(cfg):
        runner = Runner.from_cfg(cfg)
        build_dataloaders(runner, cfg, ['train_dataloader', 'val_dataloader'])
        runner.train()


if __name__ == '__main__':
    run_cli(main)
