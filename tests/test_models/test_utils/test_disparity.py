"""Eqs. 2-4 against values worked out by hand / with plain Python in the test."""
import math

import pytest
import torch

from dfd_razor.models.utils import disparity_map, disparity_mask, hd_mask, spatial_attention


def _feat(values, c, h, w):
    return torch.tensor(values, dtype=torch.float32).view(1, c, h, w)


def test_spatial_attention_hand_values():
    # channel 0: [[1, -2], [3, 0]], channel 1: [[1, 0], [-1, 2]]
    # (1/C) sum_c |F| = [[1, 1], [2, 1]]; A = H*W*softmax = 4 * e^x / (3e + e^2)
    f = _feat([1, -2, 3, 0, 1, 0, -1, 2], 2, 2, 2)
    z = 3 * math.e + math.e ** 2
    expected = [[4 * math.e / z, 4 * math.e / z], [4 * math.e ** 2 / z, 4 * math.e / z]]
    att = spatial_attention(f)
    assert att.shape == (1, 2, 2)
    assert att.dtype == torch.float32
    assert torch.allclose(att[0], torch.tensor(expected), atol=1e-6)
    assert math.isclose(att.sum().item(), 4.0, rel_tol=1e-6)


def test_spatial_attention_temperature():
    f = _feat([1, -2, 3, 0, 1, 0, -1, 2], 2, 2, 2)
    # T = 2 halves the pooled values: [[0.5, 0.5], [1, 0.5]]
    z = 3 * math.exp(0.5) + math.e
    att = spatial_attention(f, temperature=2.0)
    assert math.isclose(att[0, 1, 0].item(), 4 * math.e / z, rel_tol=1e-6)


def test_disparity_and_mask_hand_values():
    a_t = torch.tensor([[[2.0, 1.0, 0.5, 0.5]]])  # (N=1, H=1, W=4)
    a_s = torch.tensor([[[1.0, 1.0, 1.0, 1.0]]])
    d = disparity_map(a_t, a_s, 'l1')
    assert d.tolist() == [[[1.0, 0.0, 0.5, 0.5]]]
    # mean P = 0.5: D >= P at positions 0, 2, 3
    assert disparity_mask(d).tolist() == [[[True, False, True, True]]]
    d2 = disparity_map(a_t, a_s, 'l2')
    assert d2.tolist() == [[[1.0, 0.0, 0.25, 0.25]]]
    # mean P = 0.375: only position 0 is HD once the distances are squared
    assert disparity_mask(d2).tolist() == [[[True, False, False, False]]]


def test_median_threshold_differs_from_mean():
    d = torch.tensor([[[0.0, 0.1, 0.2, 10.0, 0.3]]])
    # mean = 2.12 -> only 10.0; median = 0.2 -> 0.2, 10.0, 0.3
    assert disparity_mask(d, 'mean').tolist() == [[[False, False, False, True, False]]]
    assert disparity_mask(d, 'median').tolist() == [[[False, False, True, True, True]]]


def test_threshold_scope_sample_vs_batch():
    d = torch.tensor([[[1.0, 2.0]], [[10.0, 20.0]]])
    # per sample: P = 1.5 and 15 -> second position of each; per batch: P = 8.25 -> sample 2 only
    assert disparity_mask(d, scope='sample').tolist() == [[[False, True]], [[False, True]]]
    assert disparity_mask(d, scope='batch').tolist() == [[[False, False]], [[True, True]]]


@pytest.mark.parametrize('shape', [(2, 3, 1, 1), (2, 3, 4, 5)])
def test_degenerate_inputs_give_finite_masks(shape):
    zeros = torch.zeros(shape)
    att = spatial_attention(zeros)
    assert torch.isfinite(att).all()
    assert torch.allclose(att, torch.ones_like(att))  # uniform softmax times H*W
    mask = hd_mask(zeros, zeros)
    assert mask.all()  # constant D: every position satisfies D >= mean(D)
    big = torch.full(shape, 1e4)
    assert torch.isfinite(spatial_attention(big)).all()


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_attention_is_float32_for_low_precision_inputs(dtype):
    f = torch.randn(2, 4, 3, 3).to(dtype)
    att = spatial_attention(f)
    assert att.dtype == torch.float32
    assert torch.allclose(att, spatial_attention(f.float()), atol=1e-6)


def test_mask_has_no_grad():
    s = torch.randn(1, 2, 3, 3, requires_grad=True)
    t = torch.randn(1, 2, 3, 3, requires_grad=True)
    mask = hd_mask(s, t)
    assert not mask.requires_grad and mask.dtype == torch.bool


def test_bad_options():
    d = torch.rand(1, 2, 2)
    with pytest.raises(ValueError, match='threshold'):
        disparity_mask(d, 'max')
    with pytest.raises(ValueError, match='scope'):
        disparity_mask(d, scope='image')
    with pytest.raises(ValueError, match='distance'):
        disparity_map(d, d, 'cos')
