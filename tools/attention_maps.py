"""Attention maps of a recipe's teacher and student on one image (the paper's figures 1 and 4).

    python tools/attention_maps.py RECIPE IMAGE --checkpoint DISTILLED.pth [--before STUDENT.pth] --out-dir DIR

For every distilled level (one per loss of the recipe's distiller) it writes DIR/<loss>.png: the image, the
teacher's spatial attention A(F_T), and for the student before and after distillation its attention A(F_S),
the disparity D = |A(F_T) - A(F_S)| and the HD/LD mask (eqs. 2-4, the same functions DFDLoss uses).

DISTILLED is a training checkpoint of the recipe (teacher and student inside). The student "before" comes from
--before (a student checkpoint, e.g. the plain student or the exported student of another method; keys with
or without the `architecture.` prefix); without it, the student as the recipe initialises it (init_weights,
including the inheriting strategy). Works for any task whose recipe records features with the distiller.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List

import dfd_razor  # noqa: F401
import numpy as np
import torch
from dfd_razor.launch import RecipeError, check_checkpoint, load_config, run_cli
from dfd_razor.models.utils import disparity_map, disparity_mask, spatial_attention
from mmengine.config import DictAction
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint
from mmrazor.registry import MODELS

TEACHER_KEYS = ('t_feature', 'preds_T')
STUDENT_KEYS = ('s_attention', 's_feature', 'preds_S')


def level_pairs(distiller) -> Dict[str, tuple]:
    """loss name -> (teacher record, raw student record) for every loss fed by a teacher and a student feature."""
    pairs = {}
    for loss, mapping in distiller.loss_forward_mappings.items():
        t = next((dict(mapping[k]) for k in TEACHER_KEYS if k in mapping), None)
        s = next((dict(mapping[k]) for k in STUDENT_KEYS if k in mapping), None)
        if t is None or s is None:
            continue
        s.pop('connector', None)  # the student's own feature, not an aligned/transformed one
        t.pop('connector', None)
        pairs[loss] = (t, s)
    if not pairs:
        raise RecipeError('the recipe\'s distiller has no loss fed by a teacher and a student feature')
    return pairs


def record(model, batch) -> None:
    """Run teacher and student once with the distiller's recorders on."""
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        with model.distiller.teacher_recorders:
            model.teacher(data['inputs'], data['data_samples'], mode='tensor')
        with model.distiller.student_recorders:
            model.student(data['inputs'], data['data_samples'], mode='tensor')


def maps(model, pairs) -> Dict[str, Dict[str, np.ndarray]]:
    out = {}
    for loss, (t_rec, s_rec) in pairs.items():
        ft, fs = model.distiller.get_record(**t_rec), model.distiller.get_record(**s_rec)
        if fs.shape[2:] != ft.shape[2:]:
            fs = torch.nn.functional.interpolate(fs, ft.shape[2:], mode='bilinear', align_corners=False)
        att_t, att_s = spatial_attention(ft), spatial_attention(fs)
        d = disparity_map(att_t, att_s)
        out[loss] = dict(teacher=att_t[0].numpy(), student=att_s[0].numpy(), disparity=d[0].numpy(),
                         mask=disparity_mask(d)[0].float().numpy())
    return out


def load_student(model, path: str) -> None:
    check_checkpoint(path)
    state = _load_checkpoint(path, map_location='cpu')
    state = state.get('state_dict', state)
    prefix = 'architecture.'
    student = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)} or state
    missing, unexpected = model.student.load_state_dict(student, strict=False)
    missing = [k for k in missing if not k.startswith('data_preprocessor')]
    if missing:
        raise RecipeError(f'--before {path}: {len(missing)} student tensors missing, e.g. {missing[:3]}')


def figure(image: np.ndarray, before: Dict[str, np.ndarray], after: Dict[str, np.ndarray], title: str,
           path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cols = [('image', image, None), ('teacher A(F_T)', after['teacher'], 'jet')]
    for tag, m in (('before', before), ('after', after)):
        cols += [(f'student {tag} A(F_S)', m['student'], 'jet'), (f'disparity {tag} D', m['disparity'], 'magma'),
                 (f'HD mask {tag} ({m["mask"].mean():.0%} HD)', m['mask'], 'gray')]
    fig, axes = plt.subplots(1, len(cols), figsize=(2.6 * len(cols), 2.6))
    for ax, (name, arr, cmap) in zip(axes, cols):
        ax.imshow(arr, cmap=cmap)
        ax.set_title(name, fontsize=8)
        ax.axis('off')
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description='Attention maps of teacher and student (paper figures 1, 4)')
    parser.add_argument('config', help='distillation recipe')
    parser.add_argument('image', help='image file')
    parser.add_argument('--checkpoint', required=True, help='training checkpoint of the recipe (after distillation)')
    parser.add_argument('--before', help='student checkpoint before distillation (default: initialised student)')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='key=value overrides, as in tools/train.py')
    args = parser.parse_args()
    if not osp.isfile(args.image):
        raise RecipeError(f'image not found: {args.image}')
    cfg = load_config(args.config, args.cfg_options, None, 'none')
    if 'teacher' not in cfg.model:
        raise RecipeError(f'{args.config} is not a distillation recipe (no model.teacher)')
    check_checkpoint(args.checkpoint)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model.teacher_ckpt, cfg.model.allow_random_teacher = None, True  # weights come from the checkpoints
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    pipeline = Compose([t for t in cfg.test_dataloader.dataset.pipeline if 'LoadAnnotations' not in t['type']])
    batch = pseudo_collate([pipeline(dict(img_path=args.image, img_id=0))])
    pairs = level_pairs(model.distiller)

    if args.before:
        load_student(model, args.before)
    state = _load_checkpoint(args.checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    teacher = {k[len('teacher.'):]: v for k, v in state.items() if k.startswith('teacher.')}
    missing = [k for k in model.teacher.state_dict() if k not in teacher and not k.endswith('num_batches_tracked')]
    if missing:
        raise RecipeError(f'--checkpoint {args.checkpoint} holds no complete teacher: {len(missing)} teacher '
                          f'tensors missing, e.g. {missing[:3]}')
    model.teacher.load_state_dict(teacher, strict=False)
    record(model, batch)
    before = maps(model, pairs)
    missing, _ = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if missing:
        raise RecipeError(f'--checkpoint {args.checkpoint} does not fit the recipe: {len(missing)} missing keys, '
                          f'e.g. {missing[:3]}')
    record(model, batch)
    after = maps(model, pairs)

    import cv2
    image = cv2.cvtColor(cv2.imread(args.image), cv2.COLOR_BGR2RGB)
    os.makedirs(args.out_dir, exist_ok=True)
    written: List[str] = []
    for loss in pairs:
        path = osp.join(args.out_dir, f'{loss}.png')
        figure(image, before[loss], after[loss], f'{osp.basename(args.config)}: {loss}', path)
        written.append(path)
    print('\n'.join(written))


if __name__ == '__main__':
    run_cli(main)
