"""Export the student of a distillation checkpoint: a checkpoint plain mmdet/mmyolo/mmpose/mmseg loads.

    python tools/export_student.py RECIPE CHECKPOINT OUT.pth [--no-ema]

OUT.pth holds only the student's weights (no teacher, connectors or distiller state), the EMA weights when the
run kept an EMA (mmyolo recipes; --no-ema for the raw ones), under `state_dict`, with `meta` naming the source.
OUT_config.py beside it is the student's config (the recipe with the distillation algorithm replaced by the
student model), so that e.g. `mmdet.apis.init_detector('OUT_config.py', 'OUT.pth')` or `tools/test.py
OUT_config.py OUT.pth` use it directly. The weights are checked against the student built from that config:
every tensor must fit exactly.
"""
import argparse
import os
import os.path as osp

import dfd_razor  # noqa: F401
from dfd_razor.checkpoint import state_mismatch
import torch
from dfd_razor.export import student_state_dict
from dfd_razor.launch import RecipeError, check_checkpoint, load_config, run_cli
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS

# Top-level keys of our distillation configs that only describe the algorithm (configs/algorithms, methods, pairs).
DISTILL_VARIABLES = ('fpn_teacher', 'backbone_teacher', 'decode_head_teacher', 'method', 'student', 'teacher_ckpt')


def student_config(cfg: Config) -> Config:
    if 'architecture' not in cfg.model:
        raise RecipeError(f'{cfg.filename} is not a distillation recipe (no model.architecture)')
    arch = cfg.model.architecture
    if 'cfg_path' in arch:
        arch = get_config(arch['cfg_path']).model
    out = Config(cfg.to_dict())
    out.model = arch
    for key in DISTILL_VARIABLES:
        out.pop(key, None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description='Export the student of a distillation checkpoint')
    parser.add_argument('config', help='the distillation recipe the checkpoint was trained with')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='output checkpoint (.pth); its config is written beside it as <out>_config.py')
    parser.add_argument('--no-ema', action='store_true', help='export the raw weights even if an EMA was kept')
    args = parser.parse_args()
    check_checkpoint(args.checkpoint)
    cfg = load_config(args.config, {}, None, 'none')
    student_cfg = student_config(cfg)
    try:
        state = student_state_dict(args.checkpoint, use_ema=not args.no_ema)
    except KeyError as e:
        raise RecipeError(f'{args.checkpoint}: {e}')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(student_cfg.model)
    mismatch = state_mismatch(model.state_dict(), state)
    if mismatch:
        raise RecipeError(f'{args.checkpoint} does not hold the student of {args.config}: {mismatch.summary()}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save({'state_dict': state, 'meta': dict(source=args.checkpoint, recipe=args.config,
                                                  ema=not args.no_ema)}, args.out)
    config_path = osp.splitext(args.out)[0] + '_config.py'
    student_cfg.dump(config_path)
    print(f'student: {len(state)} tensors -> {args.out}\nconfig: {config_path}')


if __name__ == '__main__':
    run_cli(main)
