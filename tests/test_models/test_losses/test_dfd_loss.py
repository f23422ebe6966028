"""DFDLoss against a plain-Python reference of eqs. 2-7 written in this test, plus gradients, variants, errors."""
import math

import pytest
import torch

from dfd_razor.models.connectors import DFDConnector
from dfd_razor.models.losses import DFDLoss


# ---- an independent reference: nested loops over plain Python floats ---------------------------------------
def ref_mask(fs, ft, distance='l1', threshold='mean', temperature=1.0):
    """Per sample list of HD booleans over positions (row-major), eqs. 2-4."""
    n, c, h, w = fs.shape
    masks = []
    for b in range(n):
        atts = []
        for f in (ft, fs):
            pooled = [sum(abs(float(f[b, k, i, j])) for k in range(c)) / c / temperature
                      for i in range(h) for j in range(w)]
            z = sum(math.exp(p) for p in pooled)
            atts.append([h * w * math.exp(p) / z for p in pooled])
        d = [abs(a - b_) if distance == 'l1' else (a - b_) ** 2 for a, b_ in zip(*atts)]
        p = sum(d) / len(d) if threshold == 'mean' else sorted(d)[(len(d) - 1) // 2]
        masks.append([x >= p for x in d])
    return masks


def ref_region_sum(a, b, masks, want_hd, power=2.0):
    n, c, h, w = a.shape
    total = 0.0
    for s in range(n):
        for i in range(h):
            for j in range(w):
                if masks is None or masks[s][i * w + j] == want_hd:
                    total += sum(abs(float(a[s, k, i, j]) - float(b[s, k, i, j])) ** power for k in range(c))
    return total


@pytest.fixture
def feats():
    g = torch.Generator().manual_seed(0)
    fs = torch.randn(2, 3, 4, 5, generator=g)
    ft = torch.randn(2, 3, 4, 5, generator=g) * 2
    x = torch.randn(2, 3, 4, 5, generator=g)  # stands for f_trans(F_S)
    return fs, ft, x


def test_default_matches_reference(feats):
    fs, ft, x = feats
    loss = DFDLoss(alpha=0.3, beta=0.7)
    out = loss(fs, ft, s_transformed=x)
    masks = ref_mask(fs, ft)
    assert any(not v for m in masks for v in m) and any(v for m in masks for v in m)  # both regions present
    assert set(out) == {'hd', 'ld'}
    assert math.isclose(out['hd'].item(), 0.3 * ref_region_sum(ft, x, masks, True) / 2, rel_tol=1e-5)
    assert math.isclose(out['ld'].item(), 0.7 * ref_region_sum(ft, fs, masks, False) / 2, rel_tol=1e-5)


def test_hand_computed_tiny_case():
    # N=1, C=1, H=1, W=3. Student zeros: A_S = [1, 1, 1]. Teacher [3, 0, 0]: A_T = 3 softmax([3, 0, 0])
    # = [2.86, 0.071, 0.071], D = [1.86, 0.93, 0.93], mean 1.24: position 0 is HD, 1 and 2 are LD.
    ft = torch.tensor([[[[3.0, 0.0, 0.0]]]])
    fs = torch.zeros(1, 1, 1, 3)
    x = torch.zeros(1, 1, 1, 3)
    out = DFDLoss(alpha=1.0, beta=10.0)(fs, ft, s_transformed=x)
    assert out['hd'].item() == pytest.approx(9.0)
    assert out['ld'].item() == pytest.approx(0.0)
    fs = torch.ones(1, 1, 1, 3) * 0.5  # uniform student: A_S = 1 everywhere, same split
    out = DFDLoss(alpha=1.0, beta=10.0)(fs, ft, s_transformed=x)
    assert out['ld'].item() == pytest.approx(10.0 * (0.25 + 0.25))


@pytest.mark.parametrize('distance,threshold,temperature', [('l2', 'mean', 1.0), ('l1', 'median', 1.0),
                                                             ('l1', 'mean', 0.5)])
def test_mask_switches_match_reference(feats, distance, threshold, temperature):
    fs, ft, x = feats
    loss = DFDLoss(alpha=1.0, beta=1.0, hd_constraint='mse', ld_constraint='mse', distance=distance,
                   threshold=threshold, temperature=temperature)
    out = loss(fs, ft)
    masks = ref_mask(fs, ft, distance, threshold, temperature)
    assert math.isclose(out['hd'].item(), ref_region_sum(ft, fs, masks, True) / 2, rel_tol=1e-5)
    assert math.isclose(out['ld'].item(), ref_region_sum(ft, fs, masks, False) / 2, rel_tol=1e-5)


@pytest.mark.parametrize('p', [0.5, 1.0, 2.0, 4.0])
def test_strict_power(feats, p):
    fs, ft, _ = feats
    out = DFDLoss(alpha=1.0, beta=1.0, hd_constraint=None, strict_power=p)(fs, ft)
    assert set(out) == {'ld'}
    assert math.isclose(out['ld'].item(), ref_region_sum(ft, fs, ref_mask(fs, ft), False, p) / 2, rel_tol=1e-4)


def test_regions_of_table1(feats):
    fs, ft, _ = feats
    masks = ref_mask(fs, ft)
    hd = DFDLoss(alpha=1.0, beta=1.0, hd_constraint='mse', ld_constraint=None)(fs, ft)
    ld = DFDLoss(alpha=1.0, beta=1.0, hd_constraint=None, ld_constraint='mse')(fs, ft)
    unsplit = DFDLoss(alpha=1.0, split=False, hd_constraint='mse')(fs, ft)
    assert set(hd) == {'hd'} and set(ld) == {'ld'} and set(unsplit) == {'all'}
    assert math.isclose(unsplit['all'].item(), ref_region_sum(ft, fs, None, True) / 2, rel_tol=1e-5)
    # the unsplit loss is the sum of the two regions: the split only partitions positions
    assert math.isclose(unsplit['all'].item(), hd['hd'].item() + ld['ld'].item(), rel_tol=1e-5)
    assert math.isclose(hd['hd'].item(), ref_region_sum(ft, fs, masks, True) / 2, rel_tol=1e-5)


def test_transform_on_whole_map_table5(feats):
    fs, ft, x = feats
    out = DFDLoss(alpha=2.0, split=False, hd_constraint='transform')(fs, ft, s_transformed=x)
    assert math.isclose(out['all'].item(), 2.0 * ref_region_sum(ft, x, None, True) / 2, rel_tol=1e-5)


def test_transform_plus_mse_table8(feats):
    fs, ft, x = feats
    masks = ref_mask(fs, ft)
    out = DFDLoss(alpha=1.0, beta=1.0, hd_constraint='transform', ld_constraint='transform+mse')(
        fs, ft, s_transformed=x)
    expected = (ref_region_sum(ft, x, masks, False) + ref_region_sum(ft, fs, masks, False)) / 2
    assert math.isclose(out['ld'].item(), expected, rel_tol=1e-5)


def test_pkd_constraint_table10(feats):
    fs, ft, _ = feats

    def norm(f):  # per channel over N, H, W, unbiased std as PKD
        out = f.clone()
        for k in range(f.shape[1]):
            vals = [float(v) for v in f[:, k].flatten()]
            m = sum(vals) / len(vals)
            sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))
            out[:, k] = (f[:, k] - m) / (sd + 1e-6)
        return out

    masks = ref_mask(fs, ft)
    out = DFDLoss(alpha=1.0, beta=1.0, hd_constraint='pkd', ld_constraint='mse')(fs, ft)
    assert math.isclose(out['hd'].item(), ref_region_sum(norm(ft), norm(fs), masks, True) / 2, rel_tol=1e-4)


def test_return_terms_false_sums(feats):
    fs, ft, x = feats
    terms = DFDLoss()(fs, ft, s_transformed=x)
    total = DFDLoss(return_terms=False)(fs, ft, s_transformed=x)
    assert torch.is_tensor(total) and total.dim() == 0
    assert math.isclose(total.item(), (terms['hd'] + terms['ld']).item(), rel_tol=1e-6)


def test_attention_from_raw_student(feats):
    fs, ft, x = feats
    raw = torch.randn(2, 7, 4, 5)  # a student with 7 channels, aligned to 3 elsewhere
    out = DFDLoss(alpha=1.0, beta=1.0)(fs, ft, s_transformed=x, s_attention=raw)
    n, _, h, w = ft.shape
    masks = []
    for b in range(n):  # attention of the raw 7-channel student against the teacher
        pooled_t = [sum(abs(float(ft[b, k, i, j])) for k in range(3)) / 3 for i in range(h) for j in range(w)]
        pooled_s = [sum(abs(float(raw[b, k, i, j])) for k in range(7)) / 7 for i in range(h) for j in range(w)]
        at = [h * w * math.exp(p) / sum(math.exp(q) for q in pooled_t) for p in pooled_t]
        as_ = [h * w * math.exp(p) / sum(math.exp(q) for q in pooled_s) for p in pooled_s]
        d = [abs(a - b_) for a, b_ in zip(at, as_)]
        masks.append([v >= sum(d) / len(d) for v in d])
    assert math.isclose(out['ld'].item(), ref_region_sum(ft, fs, masks, False) / 2, rel_tol=1e-5)


def test_gradients_flow_where_the_paper_says():
    torch.manual_seed(0)
    conn = DFDConnector(4, 4)
    fs = torch.randn(2, 4, 5, 5, requires_grad=True)
    ft = torch.randn(2, 4, 5, 5, requires_grad=True)
    x = conn(fs)
    x.retain_grad()
    loss = DFDLoss(alpha=1.0, beta=1.0, return_terms=False)
    total = loss(fs, ft, s_transformed=x)
    total.backward()
    mask = torch.tensor(ref_mask(fs.detach(), ft.detach())).view(2, 1, 5, 5).expand(2, 4, 5, 5)
    # the transform output gets gradient only at HD positions
    assert (x.grad[~mask] == 0).all()
    assert (x.grad[mask] != 0).any()
    # the transform's weights learn
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in conn.parameters())
    # the teacher gets none
    assert ft.grad is None
    # the student feature through both regions: directly (LD) and through the transform (HD)
    only_hd = fs.detach().clone().requires_grad_(True)
    DFDLoss(alpha=1.0, beta=1.0, ld_constraint=None, return_terms=False)(
        only_hd, ft, s_transformed=conn(only_hd)).backward()
    only_ld = fs.detach().clone().requires_grad_(True)
    DFDLoss(alpha=1.0, beta=1.0, hd_constraint=None, return_terms=False)(only_ld, ft).backward()
    assert only_hd.grad.abs().sum() > 0 and only_ld.grad.abs().sum() > 0
    assert (only_ld.grad[mask] == 0).all() and (only_ld.grad[~mask] != 0).any()
    assert torch.allclose(fs.grad, only_hd.grad + only_ld.grad, atol=1e-6)


@pytest.mark.parametrize('shape', [(2, 3, 1, 1), (2, 3, 4, 4)])
def test_numerics_degenerate(shape):
    zeros = torch.zeros(shape, requires_grad=True)
    x = torch.zeros(shape, requires_grad=True)
    total = DFDLoss(return_terms=False)(zeros, torch.zeros(shape), s_transformed=x)
    total.backward()
    assert torch.isfinite(total) and total.item() == 0.0
    assert torch.isfinite(zeros.grad).all()
    # strict power below 1 keeps finite gradients where T == S exactly
    s = torch.zeros(shape, requires_grad=True)
    DFDLoss(hd_constraint=None, strict_power=0.5, return_terms=False)(s, torch.zeros(shape)).backward()
    assert torch.isfinite(s.grad).all()


def test_half_precision_inputs():
    torch.manual_seed(0)
    fs, ft, x = (torch.randn(2, 3, 4, 4) for _ in range(3))
    ref = DFDLoss()(fs, ft, s_transformed=x)
    half = DFDLoss()(fs.bfloat16(), ft.bfloat16(), s_transformed=x.bfloat16())
    for k in ref:
        assert half[k].dtype == torch.float32
        assert math.isclose(half[k].item(), ref[k].item(), rel_tol=2e-2)


def test_resize_switch():
    fs, x = torch.randn(1, 2, 4, 4), torch.randn(1, 2, 4, 4)
    ft = torch.randn(1, 2, 8, 8)
    with pytest.raises(ValueError, match=r'\(1, 2, 4, 4\).*\(1, 2, 8, 8\).*spatial'):
        DFDLoss()(fs, ft, s_transformed=x)
    up = DFDLoss(resize='student')(fs, ft, s_transformed=x)
    down = DFDLoss(resize='teacher')(fs, ft, s_transformed=x)
    assert all(torch.isfinite(v) for v in (*up.values(), *down.values()))


def test_errors_name_shapes():
    with pytest.raises(ValueError, match=r'\(1, 2, 4, 4\).*\(1, 3, 4, 4\).*channels'):
        DFDLoss()(torch.randn(1, 2, 4, 4), torch.randn(1, 3, 4, 4), s_transformed=torch.randn(1, 2, 4, 4))
    with pytest.raises(ValueError, match='s_transformed'):
        DFDLoss()(torch.randn(1, 2, 4, 4), torch.randn(1, 2, 4, 4))
    with pytest.raises(ValueError, match=r's_transformed \(1, 5, 4, 4\)'):
        DFDLoss()(torch.randn(1, 2, 4, 4), torch.randn(1, 2, 4, 4), s_transformed=torch.randn(1, 5, 4, 4))
    with pytest.raises(ValueError, match='hd_constraint'):
        DFDLoss(hd_constraint='l1')
    with pytest.raises(ValueError, match='nothing to distill'):
        DFDLoss(hd_constraint=None, ld_constraint=None)


# ---- scale-free DFD (normalize=True, ours) ---------------------------------------------------------------------
def ref_normalize(f):
    """Per channel over (N, H, W): zero mean, unit (unbiased) std + 1e-6, in plain Python."""
    n, c, h, w = f.shape
    out = f.clone()
    for k in range(c):
        vals = [float(f[b, k, i, j]) for b in range(n) for i in range(h) for j in range(w)]
        mean = sum(vals) / len(vals)
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
        out[:, k] = (f[:, k] - mean) / (std + 1e-6)
    return out


@pytest.mark.parametrize('scale', [1.0, 1e-3, 250.0])
def test_normalize_matches_reference_and_is_scale_free(feats, scale):
    fs, ft, x = (f * scale for f in feats)
    nfs, nft, nx = ref_normalize(fs), ref_normalize(ft), ref_normalize(x)
    masks = ref_mask(nfs, nft)
    expected_hd = 0.3 * ref_region_sum(nft, nx, masks, True) / 2
    expected_ld = 0.7 * ref_region_sum(nft, nfs, masks, False) / 2
    loss = DFDLoss(alpha=0.3, beta=0.7, normalize=True)
    out = loss(fs, ft, s_transformed=x)
    assert math.isclose(out['hd'].item(), expected_hd, rel_tol=1e-4)
    assert math.isclose(out['ld'].item(), expected_ld, rel_tol=1e-4)
    unscaled = loss(*feats[:2], s_transformed=feats[2])  # the same up to the 1e-6 in the std's denominator
    assert math.isclose(out['hd'].item(), unscaled['hd'].item(), rel_tol=1e-2)
    assert math.isclose(out['ld'].item(), unscaled['ld'].item(), rel_tol=1e-2)


def test_normalize_changes_nothing_on_normalised_features(feats):
    fs, ft, x = (ref_normalize(f) for f in feats)
    plain = DFDLoss(alpha=0.3, beta=0.7)(fs, ft, s_transformed=x)
    scale_free = DFDLoss(alpha=0.3, beta=0.7, normalize=True)(fs, ft, s_transformed=x)
    for k in ('hd', 'ld'):
        assert math.isclose(plain[k].item(), scale_free[k].item(), rel_tol=1e-4)


def test_plain_loss_is_not_scale_free(feats):
    fs, ft, x = feats
    a = DFDLoss()(fs, ft, s_transformed=x)
    b = DFDLoss()(fs * 10, ft * 10, s_transformed=x * 10)
    assert b['ld'].item() > 50 * a['ld'].item()  # the raw sums grow with the square of the scale


def test_stats_hold_the_hd_fraction(feats):
    fs, ft, x = feats
    loss = DFDLoss()
    loss(fs, ft, s_transformed=x)
    masks = ref_mask(fs, ft)
    expected = sum(v for m in masks for v in m) / sum(len(m) for m in masks)
    assert loss.stats['hd_fraction'].item() == pytest.approx(expected)
    assert not loss.stats['hd_fraction'].requires_grad
    unsplit = DFDLoss(split=False, hd_constraint='mse')
    unsplit(fs, ft)
    assert unsplit.stats == {}


# ---- numerics: fp16 / bf16 inputs, autocast -----------------------------------------------------------------------
LOW_PRECISION_CASES = ([dict(hd_constraint='mse', strict_power=p) for p in (0.5, 1.0, 2.0, 4.0, 3.0)] +
                       [dict(), dict(hd_constraint='transform+mse', strict_power=4.0),
                        dict(hd_constraint='pkd', ld_constraint='pkd'),
                        dict(hd_constraint='mse', ld_constraint='transform+mse', strict_power=0.5),
                        dict(normalize=True), dict(normalize=True, hd_constraint='mse', strict_power=4.0),
                        dict(split=False, hd_constraint='mse', strict_power=4.0),
                        dict(split=False, hd_constraint='transform')])


def large_disparity_feats(dtype):
    """Student, teacher and transform maps with |T - S| and |T - X| up to 1e3, rounded to ``dtype``."""
    g = torch.Generator().manual_seed(0)
    fs = torch.randn(2, 8, 6, 6, generator=g) * 300
    ft = fs + (torch.rand(2, 8, 6, 6, generator=g) * 2 - 1) * 1e3
    x = ft + (torch.rand(2, 8, 6, 6, generator=g) * 2 - 1) * 1e3
    return tuple(f.to(dtype) for f in (fs, ft, x))


def loss_and_grads(loss, fs, ft, x, scale=1.0):
    """The loss terms and the gradients of ``scale`` times their sum (AMP's loss scaling) w.r.t. fs and x."""
    fs, x = fs.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out = loss(fs, ft, s_transformed=x if loss.needs_transformed else None)
    (sum(out.values()) * scale).backward()
    return out, fs.grad, x.grad if loss.needs_transformed else None


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16], ids=['fp16', 'bf16'])
@pytest.mark.parametrize('kwargs', LOW_PRECISION_CASES,
                         ids=lambda k: '-'.join(f'{a}={v}' for a, v in k.items()) or 'defaults')
def test_low_precision_inputs_give_the_float32_result(dtype, kwargs):
    # fp16 overflowed before: (T - S)^2 > 65504 once |T - S| > 256, |T - S|^4 once > 16, and inf * 0 on the
    # masked positions gave NaN. The loss is scaled, as AMP does, so that the largest gradient is about 1: the
    # gradient reaching an fp16 input is fp16 itself and must be representable (p=4: 4|d|^3 reaches 4e9).
    feats = large_disparity_feats(dtype)
    loss = DFDLoss(alpha=1.0, beta=2.0, **kwargs)
    _, r_s, r_x = loss_and_grads(loss, *(f.float() for f in feats))
    scale = 1.0 / max(r.abs().max().item() for r in (r_s, r_x) if r is not None)
    ref, r_s, r_x = loss_and_grads(loss, *(f.float() for f in feats), scale)  # the same values, in float32
    out, g_s, g_x = loss_and_grads(loss, *feats, scale)
    assert set(out) == set(ref)
    for k in ref:
        assert out[k].dtype == torch.float32 and torch.isfinite(out[k]), (k, out[k])
        assert math.isclose(out[k].item(), ref[k].item(), rel_tol=1e-5), (k, out[k].item(), ref[k].item())
    info = torch.finfo(dtype)
    for g, r in ((g_s, r_s), (g_x, r_x)):
        if r is None:
            continue
        assert g.dtype == dtype and torch.isfinite(g).all()
        # the float32 gradient rounded once to the input dtype (fp16: down to its subnormal step)
        assert torch.allclose(g.float(), r, rtol=info.eps, atol=info.tiny * info.eps), (g - r).abs().max()


def test_reproduction_of_the_fp16_overflow():
    g = torch.Generator().manual_seed(0)
    fs, ft, x = (torch.randn(2, 8, 6, 6, generator=g).half() * 300 for _ in range(3))
    for kwargs, inputs in ((dict(), (fs, ft, x)), (dict(strict_power=4, hd_constraint='mse'), (fs / 15, ft / 15))):
        out = DFDLoss(alpha=1, beta=1, **kwargs)(*inputs)
        ref = DFDLoss(alpha=1, beta=1, **kwargs)(*(f.float() for f in inputs))
        for k in ref:
            assert torch.isfinite(out[k]) and math.isclose(out[k].item(), ref[k].item(), rel_tol=1e-5)


@pytest.mark.parametrize('kwargs,full_size', [(dict(hd_constraint='mse', strict_power=p), 1) for p in (0.5, 1, 2, 4)] +
                         [(dict(hd_constraint='transform', ld_constraint=None), 1), (dict(), 2),
                          (dict(hd_constraint='transform+mse'), 2), (dict(split=False, hd_constraint='mse'), 1),
                          (dict(hd_constraint='pkd', ld_constraint='pkd'), 2)])
def test_only_the_float32_difference_is_kept_for_backward(kwargs, full_size):
    fs, ft, x = (f.requires_grad_(True) for f in large_disparity_feats(torch.float16))
    saved = {}

    def pack(t):
        saved[(t.data_ptr(), t.dtype, tuple(t.shape))] = t
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = DFDLoss(**kwargs)
        loss(fs, ft, s_transformed=x if loss.needs_transformed else None)
    big = [k for k in saved if k[2] == tuple(fs.shape)]
    assert all(k[1] == torch.float32 for k in big), big
    # one float32 difference per constraint, shared by HD and LD; no float32 copy of an input (pkd: the student's
    # centred map and the difference of the normalised maps)
    assert len(big) == full_size, big


@pytest.mark.parametrize('p', [0.5, 3.0])
def test_abs_pow_gradient_matches_autograd_of_the_plain_expression(p):
    from dfd_razor.models.losses.dfd_loss import _AbsPow
    x = torch.tensor([-2.0, -0.3, 0.0, 1e-13, 0.7, 5.0], dtype=torch.float64, requires_grad=True)
    _AbsPow.apply(x, p).sum().backward()
    y = x.detach().clone().requires_grad_(True)
    (y.abs().clamp_min(1e-12).pow(p) if p < 1 else y.abs().pow(p)).sum().backward()
    assert torch.equal(x.grad, y.grad)
    assert torch.autograd.gradcheck(lambda t: _AbsPow.apply(t, p), (torch.tensor([-2.0, 0.3, 1.5], dtype=torch.float64,
                                                                                 requires_grad=True),))


def test_autocast_does_not_lower_the_loss(feats):
    fs, ft, x = feats
    loss = DFDLoss(alpha=0.3, beta=0.7, hd_constraint='transform+mse', strict_power=4.0, resize='student')
    ref = loss(fs, ft, s_transformed=x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(fs, ft, s_transformed=x)
        small = loss(fs[..., :2, :3].bfloat16(), ft, s_transformed=x[..., :2, :3].bfloat16())  # resized, bf16
    for k in ref:
        assert out[k].dtype == torch.float32 and out[k].item() == ref[k].item()
        assert small[k].dtype == torch.float32 and torch.isfinite(small[k])


def test_recipe_model_pair_trains_one_step_under_bf16_autocast(tmp_path):
    """The CPU demo recipe's RetinaNet pair, one train_step with every forward under CPU bf16 autocast."""
    import os.path as osp

    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS

    from testing_helpers import load_recipe, make_teacher_checkpoint, model_num_classes, offline_options, tiny_batch
    recipe = osp.join(osp.dirname(__file__), '..', '..', '..', 'recipes', 'cpu_demo',
                      'dfd_fpn_retina-r18_retina-r18half_500i_tinycoco.py')
    cfg = load_recipe(recipe)
    options = offline_options(cfg)
    options['model.teacher_ckpt'] = make_teacher_checkpoint(cfg, str(tmp_path / 'teacher.pth'))
    cfg = load_recipe(recipe, options)
    init_default_scope('mmdet')
    MessageHub.get_current_instance().update_info('epoch', 0)
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim = OptimWrapper(torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        log_vars = model.train_step(tiny_batch('mmdet', size=128, batch_size=2,
                                               num_classes=model_num_classes(model.student)), optim)
    distill = [k for k in log_vars if k.startswith('distill.loss_dfd')]
    assert distill, sorted(log_vars)
    for recorders in (model.distiller.student_recorders, model.distiller.teacher_recorders):
        feats = recorders.get_recorder('feat').get_record_data(0, 0)
        assert feats.dtype == torch.bfloat16  # the DFD losses did see low-precision features
    for k, v in log_vars.items():
        assert torch.isfinite(torch.as_tensor(v)).all(), (k, v)


# ---- ours: the residual transform and its warm-up --------------------------------------------------------
def test_residual_compares_the_teacher_with_student_plus_transform(feats):
    fs, ft, x = feats
    out = DFDLoss(alpha=0.3, beta=0.7, residual=True)(fs, ft, s_transformed=x)
    masks = ref_mask(fs, ft)
    assert math.isclose(out['hd'].item(), 0.3 * ref_region_sum(ft, fs + x, masks, True) / 2, rel_tol=1e-5)
    assert math.isclose(out['ld'].item(), 0.7 * ref_region_sum(ft, fs, masks, False) / 2, rel_tol=1e-5)


def test_residual_with_a_zero_initialised_transform_is_the_split_loss_at_init(feats):
    fs, ft, _ = feats
    conn = DFDConnector(3, zero_init=True)
    res = DFDLoss(alpha=0.3, beta=0.7, residual=True)(fs, ft, s_transformed=conn(fs))
    split = DFDLoss(alpha=0.3, beta=0.7, hd_constraint='mse')(fs, ft)  # dfd_split: strict MSE on HD too
    assert res['hd'].item() == pytest.approx(split['hd'].item(), rel=1e-6)
    assert res['ld'].item() == pytest.approx(split['ld'].item(), rel=1e-6)
    normed = DFDLoss(residual=True, normalize=True)(fs, ft, s_transformed=conn(fs))
    normed_split = DFDLoss(hd_constraint='mse', normalize=True)(fs, ft)
    assert normed['hd'].item() == pytest.approx(normed_split['hd'].item(), rel=1e-6)


@pytest.mark.parametrize('residual', [False, True])
def test_transform_warmup_follows_the_runners_iteration(feats, residual):
    from mmengine.logging import MessageHub
    fs, ft, x = feats
    hub = MessageHub.get_instance(f'test_dfd_transform_warmup_{residual}')
    hub.update_info('max_iters', 200)
    hub.update_info('loop_stage', 'train')
    loss = DFDLoss(alpha=0.3, beta=0.7, residual=residual, transform_warmup=0.25)
    masks = ref_mask(fs, ft)
    for it, m in ((0, 0.0), (25, 0.5), (50, 1.0), (150, 1.0)):
        hub.update_info('iter', it)
        weak = fs + m * x if residual else (1 - m) * fs + m * x
        out = loss(fs, ft, s_transformed=x)
        assert math.isclose(out['hd'].item(), 0.3 * ref_region_sum(ft, weak, masks, True) / 2, rel_tol=1e-5), it


@pytest.mark.parametrize('kwargs,message', [
    (dict(residual=1), 'DFDLoss: residual must be True or False, got 1'),
    (dict(transform_warmup=2), 'DFDLoss: transform_warmup must be a fraction of the schedule in [0, 1], got 2'),
    (dict(residual=True, hd_constraint='mse'),
     "DFDLoss: residual and transform_warmup act on the transform, and neither hd_constraint ('mse') nor "
     "ld_constraint ('mse') uses it"),
])
def test_residual_and_warmup_bad_input(kwargs, message):
    with pytest.raises(ValueError) as e:
        DFDLoss(**kwargs)
    assert str(e.value) == message
