"""Print a recipe's resolved config, as the Runner gets it, and the file each distillation value comes from.

    python tools/print_config.py RECIPE [--cfg-options model.distiller.levels.loss.alpha=5e-5 ...]
        [--no-expand] [--sources {distill,all,none}]

A recipe's values sit several ``_base_`` levels down (recipe -> configs/pairs -> configs/algorithms, mmdet's
bases; configs/methods). This prints, in three parts:

1. the inheritance chain: every file read, in the order its values apply (later files override earlier ones);
2. the config as tools/train.py hands it to the Runner (mmengine's ``Config.fromfile``, ``--cfg-options`` merged,
   ``dfd_razor::`` and ``mmdet::``-style bases resolved, ``work_dir`` set), with ``model.distiller.levels``
   expanded into the per-level ``connectors``, ``distill_losses`` and ``loss_forward_mappings`` that
   ``MultiLevelDistiller`` writes when it is built (``--no-expand``: ``levels`` as written);
3. for the distillation keys (``model`` except the inside of ``model.architecture``, whose ``type`` is shown:
   the algorithm, ``model.distiller``, ``model.teacher``, ``model.teacher_ckpt``; ``--sources all``: every key),
   one line ``key = value  # source``. The source is the last file in the chain whose config changes that value
   (a file that repeats an inherited value, or passes it on through ``_base_.X``, leaves it to the file it came
   from), ``command line`` for ``--cfg-options``; an expanded per-level value shows the file of the ``levels``
   entry it was written from.

Files are shown as ``pkg::path`` inside an installed package's configs, else relative to the current folder, else
as ``dfd_razor::path`` in the shared configs. The engine is :mod:`dfd_razor_tools.config_provenance`.
"""
import argparse
import logging

from mmengine.logging import MMLogger

from dfd_razor_tools.config_provenance import ResolvedConfig
from dfd_razor_tools.launch import add_debug_flag, common_parser, run_cli


def main() -> None:
    parser = common_parser('Print a recipe\'s config as the Runner gets it (levels expanded, dfd_razor:: and '
                           'mmdet:: bases resolved) and the file each distillation value comes from')
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        'output: the _base_ chain (the order its values apply), the config (mmengine pretty_text), then one line\n'
        '"key = value  # source" per distillation key: the last file of the chain that changes the value, or\n'
        '"command line" (--cfg-options)\n\n'
        'example:\n  python tools/print_config.py recipes/cpu_demo/dfd_fpn_retina-r18_retina-r18q_300i_bccd.py \\\n'
        '      --cfg-options model.distiller.levels.loss.alpha=5e-5 --sources distill')
    parser.add_argument('--no-expand', action='store_true',
                        help='show model.distiller.levels as written instead of the per-level blocks it expands to')
    parser.add_argument('--sources', choices=['distill', 'all', 'none'], default='distill',
                        help='print the source file of the distillation keys (model, without the inside of '
                        'model.architecture; default), of every key, or of none')
    add_debug_flag(parser)
    for action in parser._actions:  # the launcher arguments of the common parser mean nothing here
        if action.dest in ('launcher', 'local_rank'):
            action.help = argparse.SUPPRESS
    args = parser.parse_args()
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # mmengine's INFO lines would go into the output
    resolved = ResolvedConfig(args.config, args.cfg_options, expand=not args.no_expand, work_dir=args.work_dir)
    print(resolved.report(args.sources), flush=True)


if __name__ == '__main__':
    run_cli(main)
