"""Export the student of a distillation checkpoint: a checkpoint plain mmdet/mmyolo/mmpose/mmseg loads, or ONNX.

    python tools/export_student.py RECIPE CHECKPOINT OUT.pth [--no-ema]
    python tools/export_student.py RECIPE CHECKPOINT OUT.onnx --onnx [--score [N]] [--no-ema]

OUT.pth holds only the student's weights (no teacher, connectors or distiller state), the EMA weights when the
run kept an EMA (mmyolo recipes; --no-ema for the raw ones), under `state_dict`, with `meta` naming the source.
OUT_config.py beside it is the student's config (the recipe with the distillation algorithm replaced by the
student model), so that e.g. `mmdet.apis.init_detector('OUT_config.py', 'OUT.pth')` or `tools/test.py
OUT_config.py OUT.pth` use it directly. The weights are checked against the student built from that config:
every tensor must fit exactly.

With --onnx (needs requirements/onnx.txt), OUT is the student's tensor forward (backbone, neck, head raw outputs)
in ONNX, traced on real images of the recipe's test split, dynamic batch, height and width, with the input size and
normalisation in its metadata (dfd_razor_tools/onnx_export.py); OUT_config.py is written beside it as well: the
post-processing (box decoding and NMS, heatmap decoding, logits resizing) stays in the model's own code, which
`dfd_razor_tools.onnx_export.onnx_forward` runs on ONNX Runtime's outputs. The export is checked on two test images
(batch 2): the maximum absolute difference of ONNX Runtime's outputs to PyTorch's is printed, and above 1e-4 the
command fails (exit status 1). --score [N] also scores both on the first N test images (all without N) with the
recipe's metric and fails when a metric differs by more than 0.1 (percent points). A module whose forward cannot be
traced is one line naming it (exit status 2).
"""
import argparse
import os
import os.path as osp
import tempfile

import dfd_razor  # noqa: F401
from dfd_razor.checkpoint import load_state_strictly, require_checkpoint, student_state_dict
import torch
from dfd_razor_tools.launch import RecipeError, distill_part, load_config, run_cli
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS

# Top-level keys of our distillation configs that only describe the algorithm (configs/algorithms, methods, pairs).
DISTILL_VARIABLES = ('fpn_teacher', 'backbone_teacher', 'decode_head_teacher', 'method', 'student', 'teacher_ckpt')


def student_config(cfg: Config) -> Config:
    arch = distill_part(cfg, 'architecture')
    out = Config(cfg.to_dict())
    out.model = arch
    for key in DISTILL_VARIABLES:
        out.pop(key, None)
    return out


def export_onnx_student(model: torch.nn.Module, cfg: Config, args: argparse.Namespace, config_path: str) -> None:
    """``--onnx``: the graph and the student's config beside it, the parity check on real test images, and with
    ``--score`` the metrics of both."""
    from dfd_razor_tools import onnx_export
    model.eval()
    batch = onnx_export.real_batch(cfg, model, args.parity_images)
    inputs = batch['inputs']
    metadata = dict(onnx_export.preprocessing_metadata(cfg), model=type(model).__name__,
                    scope=cfg.get('default_scope', 'mmdet'), recipe=args.config, checkpoint=args.checkpoint)
    onnx_export.export_onnx(model, inputs[:1], args.out, metadata, opset=args.opset)
    cfg.dump(config_path)
    student = onnx_export.OnnxStudent(args.out)
    diff = onnx_export.max_abs_difference(model, student, inputs)
    print(f'onnx: {args.out} (opset {args.opset}, input {tuple(inputs.shape[1:])} traced, dynamic batch/height/width)'
          f'\nparity: max |ONNX Runtime - PyTorch| = {diff:.3g} over the raw outputs of {inputs.shape[0]} test '
          f'images (batch {inputs.shape[0]})\nconfig: {config_path}', flush=True)
    if diff > onnx_export.PARITY_TOLERANCE:
        raise SystemExit(f'error: ONNX Runtime differs from PyTorch by {diff:.3g} > {onnx_export.PARITY_TOLERANCE}')
    if args.score is None:
        return
    count = None if args.score < 0 else args.score
    with tempfile.TemporaryDirectory() as work_dir:
        metrics = onnx_export.score(cfg, model, student, count, work_dir)
    scope = cfg.get('default_scope', 'mmdet')
    diffs = onnx_export.metric_differences(metrics, scope)
    images = 'all' if count is None else f'the first {count}'
    scale = onnx_export.PERCENT.get(scope, 1)
    print(f'score on {images} test images, in percent:')
    for key, value in metrics['pytorch'].items():
        print(f'  {key}: PyTorch {value * scale:.2f}, ONNX Runtime '
              f'{metrics["onnxruntime"].get(key, float("nan")) * scale:.2f} ({diffs.get(key, float("nan")):.2f} apart)')
    worst = max(diffs.values(), default=0.0)
    if worst > 0.1:
        raise SystemExit(f'error: a metric differs by {worst:.2f} > 0.1 percent points between ONNX Runtime and '
                         'PyTorch')


def main() -> None:
    parser = argparse.ArgumentParser(description='Export the student of a distillation checkpoint')
    parser.add_argument('config', help='the distillation recipe the checkpoint was trained with')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='output checkpoint (.pth), or with --onnx the .onnx graph; the student\'s config '
                        'is written beside it as <out>_config.py')
    parser.add_argument('--no-ema', action='store_true', help='export the raw weights even if an EMA was kept')
    parser.add_argument('--onnx', action='store_true', help="export the student's tensor forward to ONNX")
    parser.add_argument('--score', type=int, nargs='?', const=-1, default=None, metavar='N',
                        help='with --onnx: score the ONNX and the PyTorch student on the first N test images (all '
                        'without N) through the model\'s own post-processing')
    parser.add_argument('--parity-images', type=int, default=2, help='with --onnx: test images of the parity check')
    parser.add_argument('--opset', type=int, default=17, help='with --onnx: ONNX opset')
    args = parser.parse_args()
    if args.score is not None and not args.onnx:
        parser.error('--score needs --onnx')
    if args.parity_images < 1 or (args.score is not None and args.score == 0):
        parser.error('--parity-images and --score N need at least one image')
    if args.onnx:
        from dfd_razor_tools.onnx_export import require_onnx
        require_onnx()
    require_checkpoint(args.checkpoint, 'checkpoint')
    cfg = load_config(args.config, {}, None, 'none')
    student_cfg = student_config(cfg)
    try:
        state = student_state_dict(args.checkpoint, use_ema=not args.no_ema)
    except KeyError as e:
        raise RecipeError(f'{args.checkpoint}: {e}')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(student_cfg.model)
    load_state_strictly(model, state, args.checkpoint, f'checkpoint (the student of {args.config})')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    config_path = osp.splitext(args.out)[0] + '_config.py'
    if args.onnx:
        export_onnx_student(model, student_cfg, args, config_path)
        return
    torch.save({'state_dict': state, 'meta': dict(source=args.checkpoint, recipe=args.config,
                                                  ema=not args.no_ema)}, args.out)
    student_cfg.dump(config_path)
    print(f'student: {len(state)} tensors -> {args.out}\nconfig: {config_path}')


if __name__ == '__main__':
    run_cli(main)
