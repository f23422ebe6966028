"""Attention maps of a recipe's teacher and student (the paper's figures 1 and 4).

    python tools/attention_maps.py RECIPE IMAGE... --checkpoint DISTILLED.pth [--before STUDENT.pth] --out-dir DIR
    python tools/attention_maps.py RECIPE --val-index 0 40 --checkpoint DISTILLED.pth --before STUDENT.pth \
        --figure FIG.png [--level 0]

Per image and distilled level (one per loss of the recipe's distiller): the teacher's spatial attention A(F_T), and
for the student before and after distillation its attention A(F_S), the disparity D = |A(F_T) - A(F_S)| and the
HD/LD mask (eqs. 2-4, the functions DFDLoss uses, with the recipe's own threshold and scope where its loss has
them). Without --figure, DIR/<loss>.png per level (one row per image). With --figure, one figure in the style of the
paper's figure 1 for one level (--level: loss name or index, default the first): a row per image with the image
and its ground-truth boxes, the teacher's attention, the student's before and after, the disparity before and
after, and the HD mask after, boxes drawn on each.

Images are files (IMAGE...) or items of the recipe's test split (--val-index, with their ground-truth boxes when
the dataset has them). DISTILLED is a training checkpoint of the recipe (teacher and student inside). The student
"before" comes from --before (a student checkpoint, e.g. the plain student or the exported student of another
method; keys with or without the `architecture.` prefix); without it, the student as the recipe initialises it
(init_weights, including the inheriting strategy). Works for any task whose recipe records features with the
distiller.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import dfd_razor  # noqa: F401
import numpy as np
import torch
from dfd_razor.checkpoint import (TEACHER_PREFIX, extract, load_state_strictly, model_state, read_checkpoint,
                                  require_checkpoint, student_state_dict)
from dfd_razor_tools.launch import RecipeError, load_config, run_cli
from dfd_razor.models.utils import disparity_map, disparity_mask, spatial_attention
from mmengine.config import DictAction
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
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


def record(model, batch) -> Tuple[int, int]:
    """Run teacher and student once with the distiller's recorders on; returns the (padded) input size."""
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        with model.distiller.teacher_recorders:
            model.teacher(data['inputs'], data['data_samples'], mode='tensor')
        with model.distiller.student_recorders:
            model.student(data['inputs'], data['data_samples'], mode='tensor')
    return tuple(data['inputs'].shape[2:])


def maps(model, pairs) -> Dict[str, List[Dict[str, np.ndarray]]]:
    """loss name -> per image of the recorded batch: teacher/student attention, disparity and HD mask."""
    out = {}
    for loss, (t_rec, s_rec) in pairs.items():
        ft, fs = model.distiller.get_record(**t_rec), model.distiller.get_record(**s_rec)
        if fs.shape[2:] != ft.shape[2:]:
            fs = torch.nn.functional.interpolate(fs, ft.shape[2:], mode='bilinear', align_corners=False)
        module = model.distiller.distill_losses[loss]
        # the recipe's own settings where its loss has them (DFDLoss), else the paper's
        temperature, distance = getattr(module, 'temperature', 1.0), getattr(module, 'distance', 'l1')
        threshold, scope = getattr(module, 'threshold', 'mean'), getattr(module, 'threshold_scope', 'sample')
        att_t, att_s = spatial_attention(ft, temperature), spatial_attention(fs, temperature)
        d = disparity_map(att_t, att_s, distance)
        mask = disparity_mask(d, threshold, scope)
        out[loss] = [dict(teacher=att_t[i].numpy(), student=att_s[i].numpy(), disparity=d[i].numpy(),
                          mask=mask[i].float().numpy()) for i in range(ft.shape[0])]
    return out


def load_student(model, path: str) -> None:
    """The student of ``path`` (a distillation checkpoint, or a plain student's) into ``model.student``."""
    require_checkpoint(path, '--before')
    load_state_strictly(model.student, student_state_dict(read_checkpoint(path, '--before')), path, '--before')


def load_inputs(cfg, images: Sequence[str], val_index: Sequence[int]) -> Tuple[Dict, List[Dict]]:
    """The batch for the model and, per image, what a figure shows: the network's input image (RGB, resized as the
    test pipeline resizes it) and its ground-truth boxes in that image's pixels (none for a file, or for a dataset
    without boxes)."""
    if val_index:
        from mmengine.registry import DATASETS
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        bad = [i for i in val_index if not 0 <= i < len(dataset)]
        if bad:
            raise RecipeError(f'--val-index {bad}: the test split of the recipe has {len(dataset)} items')
        items = [dataset[i] for i in val_index]
        infos = [dataset.get_data_info(i) for i in val_index]
    else:
        for image in images:
            if not osp.isfile(image):
                raise RecipeError(f'image not found: {image}')
        pipeline = Compose([t for t in cfg.test_dataloader.dataset.pipeline if 'LoadAnnotations' not in t['type']])
        items = [pipeline(dict(img_path=image, img_id=i)) for i, image in enumerate(images)]
        infos = [{} for _ in images]
    shown = []
    for item, info in zip(items, infos):
        sample = item['data_samples']
        rgb = item['inputs'].permute(1, 2, 0).numpy()[..., ::-1].copy()  # the loaders give BGR
        instances = sample.metainfo.get('instances', info.get('instances', []))
        scale = np.array(sample.metainfo.get('scale_factor', (1.0, 1.0)), dtype=np.float32)
        boxes = np.array([inst['bbox'] for inst in instances if 'bbox' in inst], dtype=np.float32).reshape(-1, 4)
        shown.append(dict(image=rgb, boxes=boxes * np.tile(scale, 2),
                          name=osp.basename(sample.metainfo.get('img_path', ''))))
    return pseudo_collate(items), shown


def upsample(arr: np.ndarray, padded: Tuple[int, int], shape: Tuple[int, int], nearest: bool = False) -> np.ndarray:
    """A feature-resolution map at the image's pixels: resized to the padded input, cropped to the image."""
    import cv2
    out = cv2.resize(arr.astype(np.float32), (padded[1], padded[0]),
                     interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)
    return out[:shape[0], :shape[1]]


def _panel(ax, arr, title, cmap=None, boxes=None, **kw) -> None:
    from matplotlib.patches import Rectangle
    ax.imshow(arr, cmap=cmap, **kw)
    for x1, y1, x2, y2 in (boxes if boxes is not None else []):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor='lime', linewidth=0.8))
    ax.set_title(title, fontsize=7)
    ax.axis('off')


def level_figure(shown: List[Dict], before: List[Dict], after: List[Dict], padded, title: str, path: str) -> None:
    """One level, a row per image: image, teacher A(F_T), then student / disparity / HD mask before and after."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(shown), 8, figsize=(2.4 * 8, 2.2 * len(shown)), squeeze=False)
    for row, sh, b, a in zip(axes, shown, before, after):
        hw = sh['image'].shape[:2]
        cols = [('image', sh['image'], None), ('teacher A(F_T)', a['teacher'], 'jet')]
        for tag, m in (('before', b), ('after', a)):
            cols += [(f'student {tag} A(F_S)', m['student'], 'jet'), (f'disparity {tag} D', m['disparity'], 'magma'),
                     (f'HD mask {tag} ({m["mask"].mean():.0%} HD)', m['mask'], 'gray')]
        for ax, (name, arr, cmap) in zip(row, cols):
            _panel(ax, arr if cmap is None else upsample(arr, padded, hw, 'mask' in name), name, cmap)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def paper_figure(shown: List[Dict], before: List[Dict], after: List[Dict], padded, title: str, path: str) -> None:
    """The paper's figure 1 for one level, a row per image, ground-truth boxes on every panel. The three attention
    maps of a row share one colour scale, and so do the two disparities, so that before and after compare."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(shown), 7, figsize=(2.3 * 7, 2.0 * len(shown) + 0.4), squeeze=False)
    for row, sh, b, a in zip(axes, shown, before, after):
        hw, boxes = sh['image'].shape[:2], sh['boxes']
        up = {k: upsample(v, padded, hw, k == 'mask') for k, v in a.items()}
        up_b = {k: upsample(v, padded, hw, k == 'mask') for k, v in b.items()}
        att = dict(vmin=min(up['teacher'].min(), up['student'].min(), up_b['student'].min()),
                   vmax=max(up['teacher'].max(), up['student'].max(), up_b['student'].max()))
        dis = dict(vmin=0.0, vmax=max(up['disparity'].max(), up_b['disparity'].max()))
        _panel(row[0], sh['image'], f'{sh["name"]} ({len(boxes)} boxes)', boxes=boxes)
        _panel(row[1], up['teacher'], 'teacher A(F_T)', 'jet', boxes, **att)
        _panel(row[2], up_b['student'], 'student alone A(F_S)', 'jet', boxes, **att)
        _panel(row[3], up['student'], 'student with DFD A(F_S)', 'jet', boxes, **att)
        _panel(row[4], up_b['disparity'], f'disparity, alone (mean {b["disparity"].mean():.3g})', 'magma', boxes,
               **dis)
        _panel(row[5], up['disparity'], f'disparity, DFD (mean {a["disparity"].mean():.3g})', 'magma', boxes, **dis)
        _panel(row[6], up['mask'], f'HD mask, DFD ({a["mask"].mean():.0%} HD)', 'gray', boxes)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    from PIL import Image
    Image.open(path).convert('RGB').quantize(colors=128).save(path, optimize=True)  # small enough to commit


def resolve_level(level: Optional[str], pairs: Dict) -> str:
    names = list(pairs)
    if level is None:
        return names[0]
    if level in pairs:
        return level
    if level.lstrip('-').isdigit() and -len(names) <= int(level) < len(names):
        return names[int(level)]
    raise RecipeError(f'--level {level}: not a distilled level of the recipe; its levels are {names} '
                      f'(or their indices 0-{len(names) - 1})')


def main() -> None:
    parser = argparse.ArgumentParser(description='Attention maps of teacher and student (paper figures 1, 4)')
    parser.add_argument('config', help='distillation recipe')
    parser.add_argument('images', nargs='*', help='image files')
    parser.add_argument('--val-index', type=int, nargs='+', default=[],
                        help='items of the recipe\'s test split instead of image files (ground-truth boxes drawn)')
    parser.add_argument('--checkpoint', required=True, help='training checkpoint of the recipe (after distillation)')
    parser.add_argument('--before', help='student checkpoint before distillation (default: initialised student)')
    parser.add_argument('--out-dir', help='per-level figures go here (without --figure)')
    parser.add_argument('--figure', help='write one figure in the style of the paper\'s figure 1 to this PNG')
    parser.add_argument('--level', help='with --figure: the level (loss name or index; default the first)')
    parser.add_argument('--title', help='with --figure: its title (default: the recipe and the level)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='key=value overrides, as in tools/train.py')
    args = parser.parse_args()
    if bool(args.images) == bool(args.val_index):
        raise RecipeError('give image files or --val-index, not both or neither')
    if bool(args.figure) == bool(args.out_dir):
        raise RecipeError('give --figure PNG (one figure, one level) or --out-dir DIR (one figure per level)')
    cfg = load_config(args.config, args.cfg_options, None, 'none')
    if 'teacher' not in cfg.model:
        raise RecipeError(f'{args.config} is not a distillation recipe (no model.teacher)')
    require_checkpoint(args.checkpoint, '--checkpoint')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model.teacher_ckpt, cfg.model.allow_random_teacher = None, True  # weights come from the checkpoints
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    batch, shown = load_inputs(cfg, args.images, args.val_index)
    pairs = level_pairs(model.distiller)
    level = resolve_level(args.level, pairs) if args.figure else None

    if args.before:
        load_student(model, args.before)
    state, _ = model_state(read_checkpoint(args.checkpoint, '--checkpoint'), args.checkpoint, '--checkpoint')
    load_state_strictly(model.teacher, extract(state, TEACHER_PREFIX), args.checkpoint, '--checkpoint (its teacher)')
    padded = record(model, batch)
    before = maps(model, pairs)
    load_state_strictly(model, state, args.checkpoint, '--checkpoint')
    record(model, batch)
    after = maps(model, pairs)

    if args.figure:
        os.makedirs(osp.dirname(osp.abspath(args.figure)), exist_ok=True)
        paper_figure(shown, before[level], after[level], padded,
                     args.title or f'{osp.basename(args.config)}: {level}', args.figure)
        print(args.figure)
        return
    os.makedirs(args.out_dir, exist_ok=True)
    written: List[str] = []
    for loss in pairs:
        path = osp.join(args.out_dir, f'{loss}.png')
        level_figure(shown, before[loss], after[loss], padded, f'{osp.basename(args.config)}: {loss}', path)
        written.append(path)
    print('\n'.join(written))


if __name__ == '__main__':
    run_cli(main)
