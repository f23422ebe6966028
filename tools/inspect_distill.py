"""The distillation doctor: one training forward of a recipe on one real batch, and what each distill term does.

    python tools/inspect_distill.py RECIPE [--cfg-options model.teacher_ckpt=teacher.pth ...]
        [--suggest-weights RATIO] [--no-teacher] [--offline] [--data tiny_coco|camvid|bccd|pose_minicoco]

Builds the recipe's algorithm (teacher from its checkpoint), takes one batch of the recipe's own training
dataloader, runs one training forward on CPU, and prints per level the tapped modules, recorded shapes and
connectors, which student module reads each tapped map (a map no module reads as it is, e.g. one upstream of a
decoder's fusion, is a warning naming the module the classifier reads instead), per distill term its value weighted
and unweighted, its ratio to the task loss, the HD fraction (DFD) and where its gradient goes, and what the teacher
holds (dfd_razor.doctor). With ``--suggest-weights R``: the loss weights that would make the whole distill loss R
times the task loss on this batch (a starting point for tuning, not a tuned value). Exits 1 naming each problem (a
zero or non-finite term, a term without gradient to the student, a connector nothing trains, a teacher that gets
gradient) and 2 on a recipe that does not build or run (wrong module path, shape mismatch, teacher checkpoint that
does not cover the teacher, a head whose class count is not the dataset's, a failed download), with one line
saying why.

``--no-teacher``: a random teacher (wiring only); implies ``--offline``: every pretrained initialisation of student
and teacher (``init_cfg`` Pretrained, ``pretrained=``, MMRazor's ``teacher=dict(cfg_path=..., pretrained=...)``) is
dropped, each named in one line. ``--data``: the recipe's datasets, metric and class count swapped for a bundled
small set (``dfd_razor_tools.trial``).
"""
import logging
import sys

import dfd_razor  # noqa: F401  (compatibility fixes and DFD modules, before anything is built)
from dfd_razor_tools.classes import check_num_classes
from dfd_razor_tools.launch import RecipeError, check_data, common_parser, error_message, load_config, run_cli
from dfd_razor_tools.offline import download_errors
from dfd_razor_tools.trial import add_trial_arguments, apply_trial_options, use_random_teacher
from mmengine.logging import MMLogger


def main() -> None:
    parser = common_parser('Inspect what a distillation recipe computes on one batch')
    parser.add_argument('--suggest-weights', type=float, metavar='RATIO',
                        help='print the weights that make the distill loss RATIO x the task loss on this batch')
    parser.add_argument('--no-teacher', action='store_true',
                        help='random teacher instead of model.teacher_ckpt (wiring only: values mean nothing); '
                        'implies --offline')
    add_trial_arguments(parser, train=False)
    parser.add_argument('--verbose', action='store_true', help='show mmengine\'s logs')
    parser.add_argument('--debug', action='store_true', help='a failure shows its traceback, not one line')
    args = parser.parse_args()
    if not args.verbose:
        MMLogger.get_current_instance().setLevel(logging.WARNING)
    cfg = load_config(args.config, args.cfg_options, args.work_dir, 'none')
    if 'distiller' not in cfg.model:
        raise RecipeError(f'{args.config}: model is not a distillation algorithm (no model.distiller)')
    if args.no_teacher:
        print('WARNING: --no-teacher: the teacher is RANDOM; this checks the wiring, not the values', flush=True)
        use_random_teacher(cfg)
        args.offline = True
    for line in apply_trial_options(cfg, args, args.cfg_options):
        print(line, flush=True)
    check_num_classes(cfg, ['train_dataloader'])
    check_data(cfg, ['train_dataloader'])

    import torch
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmrazor.registry import MODELS

    from dfd_razor.doctor import custom_key_warnings, diagnose, suggested_weights
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner does for a model config without one
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    # what a Runner provides at the first iteration (MMYOLO's YOLOv6 head picks its assigner by epoch)
    MessageHub.get_current_instance().update_info('epoch', 0)
    MessageHub.get_current_instance().update_info('iter', 0)
    try:
        with download_errors(cfg):  # a pretrained backbone that cannot be downloaded: its key and --offline
            model = MODELS.build(cfg.model)
            model.init_weights()
        model.train()
        loader_cfg = cfg.train_dataloader.copy()
        loader_cfg['num_workers'] = 0
        loader_cfg.pop('persistent_workers', None)
        batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
        torch.manual_seed(0)
        report = diagnose(model, model.data_preprocessor(batch, True),
                          teacher=getattr(model, 'teacher_source', 'unknown (not a dfd_razor checked algorithm)'))
    except Exception as e:  # any failure to build or run the recipe is the finding: one line (--debug: traceback)
        if args.debug:
            raise
        if isinstance(e, RecipeError):  # ours: its message names the key and the fix
            raise RecipeError(f'{args.config}: {error_message(e)}') from e
        raise RecipeError(f'{args.config}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else e!r}') from e
    report.warnings += custom_key_warnings(model, cfg.get('optim_wrapper'))
    print(report.table(), flush=True)
    if args.suggest_weights is not None:
        factor = report.suggest_factor(args.suggest_weights)
        print(f'\nsuggested weights (a starting point, from this one batch): x{factor:.4g} on every distill weight '
              f'makes the distill loss {args.suggest_weights:g} x the task loss')
        for loss_name, weights in suggested_weights(model, report, args.suggest_weights).items():
            print(f'  {loss_name}: ' + ', '.join(f'{k}={v:.4g}' for k, v in weights.items()))
    if report.problems:
        print(f'{len(report.problems)} problem(s), see above', file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == '__main__':
    run_cli(main)
