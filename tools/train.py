"""Train a recipe (distillation or plain student) of any task: detection, YOLO, pose, segmentation.

    python tools/train.py recipes/retinanet/dfd_fpn_retina-x101_retina-r50_2x_coco.py [--amp] [--resume]
        [--work-dir DIR] [--cfg-options model.teacher_ckpt=teacher.pth ...] [--launcher pytorch]

The default scope (mmdet, mmyolo, mmpose, mmseg) comes from the config. Progress and ETA are logged by mmengine's
LoggerHook every `default_hooks.logger.interval` iterations.
"""
import argparse
import logging

import dfd_razor  # noqa: F401  (compatibility fixes and DFD modules, before anything is built)
from dfd_razor.launch import check_data, common_parser, load_config, run_cli, set_local_rank
from mmengine.logging import print_log
from mmengine.runner import Runner


def parse_args() -> argparse.Namespace:
    parser = common_parser('Train a dfd-razor recipe')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (AmpOptimWrapper)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from the latest checkpoint in the work dir, or from the given checkpoint')
    args = parser.parse_args()
    set_local_rank(args)
    return args


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper == 'AmpOptimWrapper':
            print_log('AMP is already enabled in the config', logger='current', level=logging.WARNING)
        else:
            if wrapper != 'OptimWrapper':
                raise SystemExit(f'--amp needs optim_wrapper.type OptimWrapper, the config has {wrapper}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    check_data(cfg, ['train_dataloader', 'val_dataloader'])
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    run_cli(main)
