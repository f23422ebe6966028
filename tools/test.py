"""Evaluate a recipe's distilled student (or, with --teacher, its teacher) with the task's metric.

    python tools/test.py RECIPE CHECKPOINT [--teacher] [--work-dir DIR] [--out-metrics FILE]
        [--offline] [--data {bccd,camvid,pose_minicoco,tiny_coco}] [--cfg-options ...] [--launcher pytorch] [--debug]

CHECKPOINT is a training checkpoint of the recipe (distiller, teacher and student inside) or an exported student
(tools/export_student.py); it must fit the model exactly: a checkpoint of another architecture is an error that
names the file and the keys. The metrics (COCO bbox/segm mAP, keypoint AP, mIoU: whatever the recipe's
test_evaluator computes) are written as JSON to --out-metrics (default: <work dir>/test_metrics.json), which
tools/compare.py reads. ``--offline`` and ``--data`` are tools/train.py's
(dfd_razor_tools.trial): a model trained with ``--data camvid`` is evaluated on the same bundled set with the same
class count. Bad input is one line naming the file or config key (exit status 2); `--debug` shows the
traceback instead.
"""
import argparse
import json
import os.path as osp

import dfd_razor  # noqa: F401
from dfd_razor.checkpoint import load_state_strictly, model_state, read_checkpoint, require_checkpoint
from dfd_razor_tools.classes import check_num_classes
from dfd_razor_tools.launch import (RecipeError, add_debug_flag, build_dataloaders, check_data, common_parser,
                                    distill_part, load_config, recipe_errors, run_cli, set_local_rank)
from dfd_razor_tools.trial import add_trial_arguments, apply_trial_options
from mmengine.dist import is_main_process
from mmengine.runner import Runner


def parse_args() -> argparse.Namespace:
    parser = common_parser('Evaluate a dfd-razor recipe')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint to evaluate (with --teacher: defaults to model.teacher_ckpt)')
    parser.add_argument('--teacher', action='store_true', help="evaluate the recipe's teacher instead of the student")
    parser.add_argument('--out-metrics', help='JSON file for the metrics (default: <work dir>/test_metrics.json)')
    add_trial_arguments(parser, train=False)
    add_debug_flag(parser)
    args = parser.parse_args()
    set_local_rank(args)
    return args


def strict_load(runner: Runner, path: str) -> None:
    """Load ``path`` into the runner's model, refusing any missing, unexpected or mis-shaped tensor."""
    state, _ = model_state(read_checkpoint(path, 'checkpoint'), path, 'checkpoint')
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    load_state_strictly(model, state, path, 'checkpoint')


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    for line in apply_trial_options(cfg, args, args.cfg_options):
        print(line, flush=True)
    checkpoint = args.checkpoint
    if args.teacher:
        checkpoint = checkpoint or cfg.model.get('teacher_ckpt')
        cfg.model = distill_part(cfg, 'teacher', '--teacher')
    if not checkpoint:
        raise RecipeError('no checkpoint given')
    require_checkpoint(checkpoint, '--teacher checkpoint' if args.teacher else 'checkpoint')
    check_num_classes(cfg, ['test_dataloader'])  # a head whose class count is not the dataset's: both named
    check_data(cfg, ['test_dataloader'])
    cfg.load_from, cfg.resume = None, False  # the Runner loads nothing itself: strict_load below does
    if 'teacher' in cfg.model:
        cfg.model.teacher_ckpt, cfg.model.allow_random_teacher = None, True  # its weights come from the checkpoint
    with recipe_errors(cfg):
        runner = Runner.from_cfg(cfg)
        build_dataloaders(runner, cfg, ['test_dataloader'])
        strict_load(runner, checkpoint)
        metrics = runner.test()
    if is_main_process():
        out = args.out_metrics or osp.join(cfg.work_dir, 'test_metrics.json')
        with open(out, 'w') as f:
            json.dump({'config': args.config, 'checkpoint': checkpoint, 'teacher': args.teacher,
                       'metrics': {k: float(v) for k, v in metrics.items()}}, f, indent=2)
        print(f'metrics written to {out}')


if __name__ == '__main__':
    run_cli(main)
