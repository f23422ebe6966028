"""Spatial attention, disparity map and HD/LD mask of DFD (paper section 3.2, eqs. 2-4).

Everything here runs without gradient and in float32, whatever the feature dtype (AMP, fp16): the mask is a
selection, not something to learn, and a softmax over H*W positions in fp16 loses the small values.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

DISTANCES = ('l1', 'l2')
THRESHOLDS = ('mean', 'median')
THRESHOLD_SCOPES = ('sample', 'batch')


def spatial_attention(feat: Tensor, temperature: float = 1.0) -> Tensor:
    r"""Spatial attention of a feature map (eq. 2).

    .. math::
        A(F) = H \cdot W \cdot \mathrm{softmax}_{H \times W}\Big(\frac{1}{C}\sum_{c=1}^{C}|F_c| \,/\, T\Big)

    The softmax runs over the H*W positions of each sample, so each map sums to H*W (mean 1). ``T`` is the
    optional temperature (eq. 2 has none, i.e. T=1).

    Args:
        feat (Tensor): Feature map of shape (N, C, H, W).
        temperature (float): Softmax temperature T > 0. Defaults to 1.0.

    Returns:
        Tensor: Attention of shape (N, H, W), float32.
    """
    n, _, h, w = feat.shape
    with torch.autocast(device_type=feat.device.type, enabled=False):
        pooled = feat.detach().float().abs().mean(dim=1).flatten(1)
        if temperature != 1.0:
            pooled = pooled / temperature
        return (h * w) * F.softmax(pooled, dim=1).view(n, h, w)


def disparity_map(att_t: Tensor, att_s: Tensor, distance: str = 'l1') -> Tensor:
    r"""Attention disparity between teacher and student (eq. 3, table 11).

    ``'l1'``: :math:`D = |A(F^T) - A(F^S)|` (the paper's choice). ``'l2'``: :math:`D = (A(F^T) - A(F^S))^2`, the
    per-position squared distance; its square root would be the L1 map again, so table 11's L2 row can only
    differ from L1 through the squaring, which changes where the mean threshold falls.
    """
    if distance == 'l1':
        return (att_t - att_s).abs()
    if distance == 'l2':
        return (att_t - att_s).square()
    raise ValueError(f'disparity distance must be one of {DISTANCES}, got {distance!r}')


def disparity_mask(disparity: Tensor, threshold: str = 'mean', scope: str = 'sample') -> Tensor:
    r"""High-disparity mask (eq. 4, table 12): 1 where :math:`D \ge P`, 0 where :math:`D < P`.

    Args:
        disparity (Tensor): Disparity map of shape (N, H, W).
        threshold (str): Statistic P of D: ``'mean'`` (the paper's choice) or ``'median'`` (table 12; for an
            even number of positions, the lower of the two middle values, as ``torch.median`` returns).
        scope (str): ``'sample'``: one P per image (the paper's "mean of the disparity map", read per map);
            ``'batch'``: one P for the whole batch.

    Returns:
        Tensor: Bool mask of shape (N, H, W). A constant D gives an all-HD mask (D >= P everywhere).
    """
    if threshold not in THRESHOLDS:
        raise ValueError(f'threshold must be one of {THRESHOLDS}, got {threshold!r}')
    if scope not in THRESHOLD_SCOPES:
        raise ValueError(f'threshold scope must be one of {THRESHOLD_SCOPES}, got {scope!r}')
    flat = disparity.flatten(1) if scope == 'sample' else disparity.reshape(1, -1)
    if threshold == 'mean':
        p = flat.mean(dim=1, keepdim=True)
    else:
        p = flat.median(dim=1, keepdim=True).values
    return (flat >= p).view_as(disparity)


def hd_mask(feat_s: Tensor,
            feat_t: Tensor,
            distance: str = 'l1',
            threshold: str = 'mean',
            scope: str = 'sample',
            temperature: float = 1.0) -> Tensor:
    """Eqs. 2-4 in one call: the bool (N, H, W) mask of high-disparity positions of a student/teacher pair."""
    with torch.no_grad():
        att_t = spatial_attention(feat_t, temperature)
        att_s = spatial_attention(feat_s, temperature)
        return disparity_mask(disparity_map(att_t, att_s, distance), threshold, scope)
