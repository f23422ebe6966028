"""FGDLoss against a plain-Python/numpy reference of the original's arithmetic written in this test, plus masks at
borders and overlaps, gradients, errors, the distiller's data-samples path and one training step of a real recipe.

The reference follows yzd-v/FGD ``mmdet/distillation/losses/fgd.py`` (``FeatureLoss``) statement by statement:
the foreground mask with the original's slices and ``torch.maximum``, the attentions as softmaxes over nested
loops, the feature loss as the sum of squared differences of the ``sqrt``-weighted maps, the GcBlock in numpy with
weights given here.
"""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData
from mmrazor.registry import MODELS

from dfd_razor.models.losses import FGDLoss
from dfd_razor.models.losses.fgd_loss import fg_bg_masks

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))


# ---- the independent reference -------------------------------------------------------------------------------
def ref_masks(boxes, shapes, h, w):
    """The original's mask loop on numpy arrays (its slices; a negative start clipped to 0, our documented choice)."""
    n = len(boxes)
    fg, bg = np.zeros((n, h, w)), np.ones((n, h, w))
    for i in range(n):
        img_h, img_w = shapes[i]
        for x1, y1, x2, y2 in boxes[i]:
            wmin, wmax = math.floor(x1 / img_w * w), math.ceil(x2 / img_w * w)
            hmin, hmax = math.floor(y1 / img_h * h), math.ceil(y2 / img_h * h)
            area = 1.0 / (hmax + 1 - hmin) / (wmax + 1 - wmin)
            rows, cols = slice(max(hmin, 0), hmax + 1), slice(max(wmin, 0), wmax + 1)
            fg[i][rows, cols] = np.maximum(fg[i][rows, cols], area)
        bg[i] = np.where(fg[i] > 0, 0, 1)
        if bg[i].sum():
            bg[i] /= bg[i].sum()
    return fg, bg


def ref_attention(f, temp):
    """Spatial (n, h, w) and channel (n, c) attention by loops: HW * softmax of the channel-mean |F| / T, C * softmax
    of the spatial-mean |F| / T."""
    n, c, h, w = f.shape
    spatial, channel = np.zeros((n, h, w)), np.zeros((n, c))
    for b in range(n):
        pooled = [[sum(abs(float(f[b, k, i, j])) for k in range(c)) / c / temp for j in range(w)] for i in range(h)]
        z = sum(math.exp(p) for row in pooled for p in row)
        for i in range(h):
            for j in range(w):
                spatial[b, i, j] = h * w * math.exp(pooled[i][j]) / z
        pooled_c = [sum(abs(float(f[b, k, i, j])) for i in range(h) for j in range(w)) / (h * w) / temp
                    for k in range(c)]
        z = sum(math.exp(p) for p in pooled_c)
        for k in range(c):
            channel[b, k] = c * math.exp(pooled_c[k]) / z
    return spatial, channel


def known(shape, k):
    """Known GcBlock weights: a fixed pattern, different for every k."""
    size = int(np.prod(shape))
    return (np.sin(np.arange(size) * 0.7 + k) * (0.3 + 0.1 * k)).reshape(shape)


GC_PARAMS = {  # parameter name -> k of known()
    'conv_mask_s.weight': 1, 'conv_mask_s.bias': 2, 'conv_mask_t.weight': 3, 'conv_mask_t.bias': 4,
    'channel_add_conv_s.0.weight': 5, 'channel_add_conv_s.0.bias': 6, 'channel_add_conv_s.1.weight': 7,
    'channel_add_conv_s.1.bias': 8, 'channel_add_conv_s.3.weight': 9, 'channel_add_conv_s.3.bias': 10,
    'channel_add_conv_t.0.weight': 11, 'channel_add_conv_t.0.bias': 12, 'channel_add_conv_t.1.weight': 13,
    'channel_add_conv_t.1.bias': 14, 'channel_add_conv_t.3.weight': 15, 'channel_add_conv_t.3.bias': 16,
}


def set_known_weights(loss):
    params = dict(loss.named_parameters())
    assert set(params) == set(GC_PARAMS)
    with torch.no_grad():
        for name, k in GC_PARAMS.items():
            params[name].copy_(torch.from_numpy(known(tuple(params[name].shape), k)))


def ref_gc_out(x, side, c):
    """x + channel_add(context(x)) of the GcBlock of ``side`` ('s' or 't') with the known weights, numpy."""
    n, _, h, w = x.shape
    wk, bk = known((1, c, 1, 1), GC_PARAMS[f'conv_mask_{side}.weight']), known(
        (1,), GC_PARAMS[f'conv_mask_{side}.bias'])
    p = {j: (known((c // 2, c, 1, 1) if j == 0 else (c // 2, 1, 1) if j == 1 else (c, c // 2, 1, 1),
                   GC_PARAMS[f'channel_add_conv_{side}.{j}.weight']),
             known((c // 2,) if j == 0 else (c // 2, 1, 1) if j == 1 else (c,),
                   GC_PARAMS[f'channel_add_conv_{side}.{j}.bias'])) for j in (0, 1, 3)}
    out = np.array(x, dtype=np.float64)
    for b in range(n):
        flat = out[b].reshape(c, h * w)
        logits = wk.reshape(c) @ flat + bk[0]
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        context = flat @ weights  # (c,)
        y = p[0][0].reshape(c // 2, c) @ context + p[0][1]
        y = (y - y.mean()) / np.sqrt(y.var() + 1e-5) * p[1][0].reshape(-1) + p[1][1].reshape(-1)  # LayerNorm
        y = np.maximum(y, 0)
        y = p[3][0].reshape(c, c // 2) @ y + p[3][1]
        out[b] = out[b] + y[:, None, None]
    return out


def ref_terms(s, t, boxes, shapes, temp=0.5, weights=(0.001, 0.0005, 0.001, 0.000005)):
    """The four weighted terms of the original's forward, on numpy copies of the features."""
    s, t = np.array(s, dtype=np.float64), np.array(t, dtype=np.float64)
    n, c, h, w = s.shape
    fg, bg = ref_masks(boxes, shapes, h, w)
    st, ct = ref_attention(t, temp)
    ss, cs = ref_attention(s, temp)
    fg_loss = bg_loss = 0.0
    for b in range(n):
        for k in range(c):
            for i in range(h):
                for j in range(w):
                    scale = math.sqrt(st[b, i, j]) * math.sqrt(ct[b, k])
                    fs, ft = s[b, k, i, j] * scale, t[b, k, i, j] * scale
                    fg_loss += (fs * math.sqrt(fg[b, i, j]) - ft * math.sqrt(fg[b, i, j])) ** 2
                    bg_loss += (fs * math.sqrt(bg[b, i, j]) - ft * math.sqrt(bg[b, i, j])) ** 2
    mask_loss = np.abs(cs - ct).sum() / n + np.abs(ss - st).sum() / n
    rela_loss = ((ref_gc_out(s, 's', c) - ref_gc_out(t, 't', c)) ** 2).sum() / n
    alpha, beta, gamma, lam = weights
    return {'fg': alpha * fg_loss / n, 'bg': beta * bg_loss / n, 'attention': gamma * mask_loss,
            'global': lam * rela_loss}


# ---- inputs --------------------------------------------------------------------------------------------------
def sample(boxes, img_shape=(40, 48), **metainfo):
    """A DetDataSample with ``boxes`` and the metainfo given (no ``img_shape`` when it is None)."""
    from mmdet.structures import DetDataSample
    data = DetDataSample(metainfo=dict(metainfo, **({} if img_shape is None else dict(img_shape=img_shape))))
    data.gt_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
    return data


BOXES = [
    [[3.0, 2.0, 21.0, 17.0], [9.0, 5.0, 13.0, 11.0], [30.0, 22.0, 48.0, 40.0]],  # overlap; one at the corner
    [[0.0, 0.0, 47.0, 39.0]],  # nearly the whole image
]
SHAPES = [(40.0, 48.0), (40.0, 48.0)]


@pytest.fixture
def feats():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 6, 5, 6, generator=g, dtype=torch.float64)
    t = torch.randn(2, 6, 5, 6, generator=g, dtype=torch.float64) * 1.5
    return s, t


def double_loss(c=6, **kwargs):
    loss = FGDLoss(c, **kwargs).double()
    set_known_weights(loss)
    return loss


# ---- masks ---------------------------------------------------------------------------------------------------
def test_masks_overlap_and_border_hand_written():
    # 4x4 map of a 32x32 image: one cell = 8 pixels
    whole = [0.0, 0.0, 32.0, 32.0]  # x2 = W exactly: ceil -> 4, one column beyond the map, counted in the area
    inner = [8.0, 8.0, 15.0, 15.0]  # cells 1..2 (15/8 = 1.875 -> ceil 2): 2 x 2 = 4 cells
    corner = [16.0, 4.0, 32.0, 32.0]  # rows floor(0.5)=0..4, cols 2..4: 5 x 3 counted, 4 x 2 on the map
    left = [-4.0, -4.0, 8.0, 8.0]  # starts left of/above the image: clipped; cells -1..1 counted, 0..1 on the map
    boxes = [torch.tensor([whole, inner]), torch.tensor([corner]), torch.tensor([left]), torch.zeros(0, 4)]
    fg, bg = fg_bg_masks(boxes, [(32.0, 32.0)] * 4, 4, 4, torch.float64)
    expected_fg = torch.zeros(4, 4, 4, dtype=torch.float64)
    expected_fg[0] = 1 / 25  # the whole-image box: 5 x 5 counted
    expected_fg[0, 1:3, 1:3] = 1 / 4  # the smaller box inside it keeps its larger weight
    expected_fg[1, 0:4, 2:4] = 1 / 15
    expected_fg[2, 0:2, 0:2] = 1 / 9
    assert torch.allclose(fg, expected_fg)
    expected_bg = torch.zeros(4, 4, 4, dtype=torch.float64)  # image 0: every cell is foreground -> all zero
    expected_bg[1] = 1 / 8
    expected_bg[1, 0:4, 2:4] = 0
    expected_bg[2] = 1 / 12
    expected_bg[2, 0:2, 0:2] = 0
    expected_bg[3] = 1 / 16  # no boxes: all background
    assert torch.allclose(bg, expected_bg)


def test_masks_match_the_original_loop():
    g = torch.Generator().manual_seed(1)
    boxes, shapes = [], [(100.0, 130.0), (64.0, 64.0), (90.0, 70.0)]
    for img_h, img_w in shapes:
        xy = torch.rand(7, 2, generator=g) * torch.tensor([img_w, img_h])
        wh = torch.rand(7, 2, generator=g) * torch.tensor([img_w, img_h]) / 2
        b = torch.cat([xy, torch.minimum(xy + wh, torch.tensor([img_w, img_h]))], 1)
        b[0, 2:] = torch.tensor([img_w, img_h])  # one box reaching the bottom-right border
        boxes.append(b)
    for h, w in ((13, 17), (4, 4), (1, 1)):
        fg, bg = fg_bg_masks(boxes, shapes, h, w, torch.float64)
        rfg, rbg = ref_masks([b.tolist() for b in boxes], shapes, h, w)
        assert np.allclose(fg.numpy(), rfg) and np.allclose(bg.numpy(), rbg), (h, w)


# ---- the loss ------------------------------------------------------------------------------------------------
def test_attention_matches_reference(feats):
    from dfd_razor.models.losses.fgd_loss import attention
    s, _ = feats
    spatial, channel = attention(s, 0.5)
    rs, rc = ref_attention(s.numpy(), 0.5)
    assert np.allclose(spatial.numpy(), rs) and np.allclose(channel.numpy(), rc)
    assert torch.allclose(spatial.sum((1, 2)), torch.full((2,), 30.0, dtype=torch.float64))  # HW
    assert torch.allclose(channel.sum(1), torch.full((2,), 6.0, dtype=torch.float64))  # C


@pytest.mark.parametrize('weights', [(0.001, 0.0005, 0.001, 0.000005), (0.0016, 0.0008, 0.0008, 0.000008)])
def test_loss_matches_reference(feats, weights):
    s, t = feats
    alpha, beta, gamma, lam = weights
    loss = double_loss(alpha_fgd=alpha, beta_fgd=beta, gamma_fgd=gamma, lambda_fgd=lam)
    out = loss(s, t, [sample(b) for b in BOXES])
    ref = ref_terms(s.numpy(), t.numpy(), BOXES, SHAPES, weights=weights)
    assert set(out) == set(ref)
    for k in ref:
        assert math.isclose(float(out[k].detach()), ref[k], rel_tol=1e-9), (k, float(out[k].detach()), ref[k])
        assert ref[k] > 0, k
    total = double_loss(alpha_fgd=alpha, beta_fgd=beta, gamma_fgd=gamma, lambda_fgd=lam, return_terms=False)(
        s, t, [sample(b) for b in BOXES])
    assert math.isclose(float(total.detach()), sum(ref.values()), rel_tol=1e-9)
    assert math.isclose(float(loss.stats['fg_fraction']), (ref_masks(BOXES, SHAPES, 5, 6)[0] > 0).mean())


def test_float32_agrees_with_the_reference(feats):
    s, t = (x.float() for x in feats)
    loss = FGDLoss(6)
    set_known_weights(loss)
    out = loss(s, t, [sample(b) for b in BOXES])
    ref = ref_terms(s.numpy(), t.numpy(), BOXES, SHAPES)
    for k in ref:
        assert out[k].dtype == torch.float32
        assert math.isclose(float(out[k].detach()), ref[k], rel_tol=1e-4), k


def test_image_shape_key_switch(feats):
    s, t = feats
    # the padded batch input is 64 x 64: boxes scaled by it cover fewer cells than scaled by img_shape (40 x 48)
    samples = [sample(b, batch_input_shape=(64, 64)) for b in BOXES]
    out = double_loss(image_shape_key='batch_input_shape')(s, t, samples)
    ref = ref_terms(s.numpy(), t.numpy(), BOXES, [(64.0, 64.0)] * 2)
    assert all(math.isclose(float(out[k].detach()), ref[k], rel_tol=1e-9) for k in ref)
    assert not math.isclose(float(out['fg'].detach()), float(double_loss()(s, t, samples)['fg']), rel_tol=1e-3)


def test_gradient_reaches_the_student_not_the_teacher(feats):
    s, t = (x.clone().requires_grad_(True) for x in feats)
    loss = double_loss()
    out = loss(s, t, [sample(b) for b in BOXES])
    for term, value in out.items():
        grad_s, = torch.autograd.grad(value, s, retain_graph=True)
        assert grad_s.abs().sum() > 0, term
    sum(out.values()).backward()
    assert t.grad is None
    # the global term trains both GcBlocks, the teacher's included (as the original); the conv_mask biases are
    # dead (see test_conv_mask_bias_gets_no_gradient) and checked there
    for name, p in loss.named_parameters():
        if name.startswith('conv_mask_') and name.endswith('.bias'):
            continue
        assert p.grad is not None and p.grad.abs().sum() > 1e-6, name


def test_conv_mask_bias_gets_no_gradient(feats):
    """``conv_mask_{s,t}`` gives the logits of a softmax over all positions; its bias adds one constant to every
    logit and softmax(x + b) = softmax(x), so d loss / d bias is exactly zero in exact arithmetic. What float
    rounding leaves is a residue (about 1e-17 in float64, or exactly 0): asserted within a tolerance, never as
    an exact zero or non-zero."""
    s, t = (x.clone().requires_grad_(True) for x in feats)
    loss = double_loss()
    sum(loss(s, t, [sample(b) for b in BOXES]).values()).backward()
    for side in ('s', 't'):
        mask = getattr(loss, f'conv_mask_{side}')
        assert mask.bias.grad is not None
        # the weight's gradient sets the scale: the bias's is below it by many orders of magnitude
        scale = float(mask.weight.grad.abs().max())
        assert scale > 1e-6
        assert float(mask.bias.grad.abs().max()) < 1e-9 * max(scale, 1.0), side


def test_zero_when_student_equals_teacher(feats):
    _, t = feats
    loss = double_loss()
    out = loss(t.clone(), t, [sample(b) for b in BOXES])
    for term in ('fg', 'bg', 'attention'):
        assert float(out[term].detach()) == 0, term
    assert float(out['global'].detach()) > 0  # different student/teacher GcBlocks: relation terms differ
    fresh = FGDLoss(6).double()  # original init: last channel_add conv zero -> out = F, so zero too
    assert float(fresh(t.clone(), t, [sample(b) for b in BOXES])['global'].detach()) == 0


def test_original_initialisation():
    loss = FGDLoss(8)
    for side in ('s', 't'):
        last = getattr(loss, f'channel_add_conv_{side}')[-1]
        assert not last.weight.any() and not last.bias.any()
        assert not getattr(loss, f'conv_mask_{side}').bias.any()
        assert getattr(loss, f'conv_mask_{side}').weight.std() > 0
    assert [type(m).__name__ for m in loss.channel_add_conv_s] == ['Conv2d', 'LayerNorm', 'ReLU', 'Conv2d']
    assert loss.channel_add_conv_s[0].out_channels == 4


# ---- errors --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('s_shape,t_shape,match', [
    ((2, 6, 5, 6), (2, 8, 5, 6), r'student feature \(2, 6, 5, 6\) and teacher feature \(2, 8, 5, 6\)'),
    ((2, 6, 5, 6), (2, 6, 4, 6), r'\(2, 6, 4, 6\) differ'),
    ((2, 6, 30), (2, 6, 30), r'preds_S must be \(N, C, H, W\), got shape \(2, 6, 30\)'),
])
def test_shape_errors(s_shape, t_shape, match):
    with pytest.raises(ValueError, match=match):
        FGDLoss(6)(torch.randn(s_shape), torch.randn(t_shape), [sample(b) for b in BOXES])


def test_channel_count_other_than_built_for():
    with pytest.raises(ValueError, match=r'8 channels .* teacher_channels=6'):
        FGDLoss(6)(torch.randn(2, 8, 5, 6), torch.randn(2, 8, 5, 6), [sample(b) for b in BOXES])


@pytest.mark.parametrize('samples,error,match', [
    (None, ValueError, 'needs the batch\'s ground-truth boxes'),
    ({'bboxes_labels': torch.zeros(0, 6)}, TypeError, 'list of mmdet DetDataSample.*got dict'),
    ([sample(BOXES[0])], ValueError, '1 data samples for a batch of 2'),
    ([sample(BOXES[0]), object()], ValueError, 'data sample 1 has no gt_instances.bboxes'),
    ([sample(BOXES[0]), sample(BOXES[1], img_shape=None)], ValueError, "no metainfo 'img_shape'"),
    ([sample(BOXES[0]), sample([[10.0, 10.0, 5.0, 20.0]])], ValueError, 'data sample 1 has boxes with x2 < x1'),
])
def test_bad_data_samples(samples, error, match):
    with pytest.raises(error, match=match):
        FGDLoss(6)(torch.randn(2, 6, 5, 6), torch.randn(2, 6, 5, 6), samples)


def test_bad_box_tensor():
    bad = sample(BOXES[0])
    bad.gt_instances = InstanceData(bboxes=torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r'bboxes of data sample 0 must be \(K, 4\).*\(3, 5\)'):
        FGDLoss(6)(torch.randn(1, 6, 5, 6), torch.randn(1, 6, 5, 6), [bad])


@pytest.mark.parametrize('kwargs,match', [
    (dict(teacher_channels=1), 'teacher_channels must be an int >= 2'),
    (dict(teacher_channels=8, temp=0), 'temp must be > 0'),
    (dict(teacher_channels=8, image_shape_key='pad'), 'image_shape_key must be one of'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FGDLoss(**kwargs)


# ---- the distiller: channels, the align variant, data samples --------------------------------------------------
def method_distiller(method, student_channels, teacher_channels):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'methods', method)).method
    cfg.levels.update(name='fpn', indices=[0, 1, 2])
    if student_channels is not None:
        cfg.levels.update(student_channels=student_channels, teacher_channels=teacher_channels)
    return dict(type='MultiLevelDistiller', student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
                teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')), **cfg)


def test_distiller_fills_the_gcblock_channels_and_aligns():
    import dfd_razor  # noqa: F401  (registers FGDLoss)
    d = MODELS.build(method_distiller('fgd_align.py', 16, 32))
    assert sorted(d.connectors) == ['align_fpn0', 'align_fpn1', 'align_fpn2']
    conv = d.connectors['align_fpn1'].conv_module.conv
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (16, 32, (1, 1))
    assert all(d.distill_losses[f'loss_fgd_fpn{i}'].teacher_channels == 32 for i in range(3))
    assert d.loss_forward_mappings['loss_fgd_fpn2']['preds_S'] == dict(from_student=True, recorder='feat',
                                                                       connector='align_fpn2', data_idx=2)
    with pytest.raises(KeyError, match='levels.teacher_channels is needed to fill teacher_channels of the loss'):
        MODELS.build(method_distiller('fgd.py', None, None))


def test_distiller_refuses_a_wired_data_samples_input():
    cfg = method_distiller('fgd.py', 32, 32)
    cfg['levels']['inputs']['data_samples'] = dict(from_student=True, recorder='feat')
    with pytest.raises(KeyError, match='loss_fgd_fpn0.data_samples: FGDLoss receives the batch'):
        MODELS.build(cfg)


# ---- one training step of a real recipe -------------------------------------------------------------------------
RECIPE = osp.join(ROOT, 'recipes', 'retinanet', 'fgd_fpn_retina-x101_retina-r50_2x_coco.py')


def test_boxes_reach_the_loss_in_a_recipe_training_step(tmp_path):
    """The shipped RetinaNet FGD recipe, offline (random teacher checkpoint, as the recipe smoke test): the logged
    foreground/background terms of level 0 are those the reference computes from the recorded features and the
    batch's boxes."""
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope

    from testing_helpers import load_recipe, make_teacher_checkpoint, offline_options, tiny_batch
    cfg = load_recipe(RECIPE)
    options = offline_options(cfg)
    options['model.teacher_ckpt'] = make_teacher_checkpoint(cfg, str(tmp_path / 'teacher.pth'))
    cfg = load_recipe(RECIPE, options)
    init_default_scope('mmdet')
    if cfg.get('data_preprocessor') is not None:  # as mmengine's Runner does
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    keys_before = set(model.state_dict())
    optim = OptimWrapper(torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3))
    data = model.data_preprocessor(tiny_batch('mmdet', size=64, batch_size=2), True)
    samples = data['data_samples']
    losses = model(**data, mode='loss')  # what train_step runs, keeping the samples at hand
    parsed, log_vars = model.parse_losses(losses)
    optim.update_params(parsed)

    distiller = model.distiller
    assert distiller._data_samples is None  # nothing of the batch stays on the distiller
    assert set(model.state_dict()) == keys_before  # nor in checkpoints
    assert {f'distill.loss_fgd_fpn{i}_{t}' for i in range(5) for t in ('fg', 'bg', 'attention', 'global')} <= \
        set(log_vars)
    boxes = [getattr(s.gt_instances.bboxes, 'tensor', s.gt_instances.bboxes).tolist() for s in samples]
    assert all(len(b) == 3 for b in boxes)
    shapes = [tuple(float(v) for v in s.metainfo['img_shape']) for s in samples]
    s_feat = distiller.get_record(recorder='feat', from_student=True, data_idx=0).detach()
    t_feat = distiller.get_record(recorder='feat', from_student=False, data_idx=0)
    fg, bg = ref_masks(boxes, shapes, *s_feat.shape[2:])
    st, ct = ref_attention(t_feat.numpy(), 0.5)
    diff = ((s_feat.double() - t_feat.double()) ** 2).numpy()
    per_pos = (diff * ct[:, :, None, None]).sum(1) * st
    n = s_feat.shape[0]
    expected_fg, expected_bg = 0.001 * (per_pos * fg).sum() / n, 0.0005 * (per_pos * bg).sum() / n
    assert expected_fg > 0 and 0 < (fg > 0).mean() < 1  # both regions exist at level 0
    assert math.isclose(float(log_vars['distill.loss_fgd_fpn0_fg'].detach()), expected_fg, rel_tol=1e-4)
    assert math.isclose(float(log_vars['distill.loss_fgd_fpn0_bg'].detach()), expected_bg, rel_tol=1e-4)
    assert math.isclose(float(log_vars['distill.stat_fgd_fpn0_fg_fraction'].detach()), (fg > 0).mean(), rel_tol=1e-6)

    # without the algorithm handing the batch over: a clear error naming the level
    with pytest.raises(ValueError, match='loss_fgd_fpn0: FGDLoss needs the batch\'s annotations'):
        distiller.compute_distill_losses()
    with pytest.raises(ValueError, match='loss_fgd_fpn0: FGDLoss: 1 data samples for a batch of 2'):
        distiller.compute_distill_losses(samples[:1])
    # the same samples passed explicitly give the logged values again
    again = distiller.compute_distill_losses(samples)
    assert math.isclose(float(again['loss_fgd_fpn0_fg'].detach()), expected_fg, rel_tol=1e-4)
