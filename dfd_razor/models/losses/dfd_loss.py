"""DFD loss: different constraints for high- and low-disparity regions (paper section 3, eqs. 2-7)."""
from typing import Any, Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor, nn

from ..utils.disparity import DISTANCES, THRESHOLD_SCOPES, THRESHOLDS, hd_mask
from ..utils.schedule import ramp, training_progress

CONSTRAINTS = ('mse', 'transform', 'transform+mse', 'pkd', None)
RESIZE = ('student', 'teacher', None)


@MODELS.register_module()
class DFDLoss(nn.Module):
    r"""Disparity Feature Distillation loss for one feature level.

    `DFD: Distilling the Feature Disparity Differently for Detectors (ICML 2024)
    <https://proceedings.mlr.press/v235/liu24ae.html>`_.

    With student feature :math:`F^S`, teacher feature :math:`F^T` (N, C, H, W) and the learnable transform
    :math:`f_{trans}` (applied by a connector, :class:`DFDConnector`):

    .. math::
        A(F) &= H W \cdot \mathrm{softmax}_{HW}\big(\tfrac{1}{C}\textstyle\sum_c |F_c|\big)     && (2)\\
        D &= |A(F^T) - A(F^S)|,\quad P = \mathrm{mean}(D),\quad M = [D \ge P]                  && (3, 4)\\
        L_{HD} &= \tfrac{1}{N}\textstyle\sum_{c}\sum_{(i,j): M=1} (F^T - f_{trans}(F^S))^2       && (5)\\
        L_{LD} &= \tfrac{1}{N}\textstyle\sum_{c}\sum_{(i,j): M=0} |F^T - F^S|^p,\ p=2           && (6)\\
        L &= \alpha L_{HD} + \beta L_{LD}                                                        && (7)

    The mask is computed once per call, without gradient, in float32. The division by the batch size N is
    not written in eqs. 5-6; it is how MGD and FGD (whose code DFD's weights follow) scale their sums, and the
    scale at which the paper's alpha=2.8e-5, beta=1e-5 (one-stage) and alpha=3.5e-7, beta=1e-7 (two-stage) are
    sensible.

    Constraints (``hd_constraint``/``ld_constraint``), each summed over channels and the region's positions:

    - ``'mse'``: the strict constraint :math:`|F^T - F^S|^p`, p = ``strict_power`` (table 9: 0.5, 1, 2, 4).
    - ``'transform'``: :math:`(F^T - X)^2` with X = ``s_transformed``, the output of the connector wired to
      that input: :class:`DFDConnector` for the paper's weak constraint (TF), MMRazor's ``MGDConnector`` for
      MGD's generation as the weak constraint (table 10, "MGD + Ours").
    - ``'transform+mse'``: both of the above, added (table 8, "TF + MSE").
    - ``'pkd'``: :math:`(\hat F^T - \hat F^S)^2` with PKD's per-channel normalisation over (N, H, W) of the
      whole maps before masking (table 10, "PKD + Ours").
    - ``None``: the region is not distilled (table 1 rows 2-3, table 8 rows 3-4).

    The ablation tables map to these switches:

    ===========================  ==========================================================================
    paper                         switches
    ===========================  ==========================================================================
    table 1, HD only / LD only    ``hd_constraint='mse', ld_constraint=None`` / ``hd_constraint=None``
    table 1, HD+LD unsplit        ``split=False, hd_constraint='mse'`` (one weight, alpha, on all positions)
    table 1, split                ``hd_constraint='mse', ld_constraint='mse'`` (alpha on HD, beta on LD)
    table 1, split + DC (ours)    defaults
    table 5, modules on whole map ``split=False, hd_constraint='transform'`` + the connector's structure
    table 8                       ``hd_constraint``, ``ld_constraint`` in {'mse','transform','transform+mse'}
    table 9                       ``strict_power`` in {0.5, 1, 2, 4}
    table 10                      ``hd_constraint='transform'`` + ``MGDConnector``; ``hd_constraint='pkd'``
    table 11                      ``distance`` in {'l1', 'l2'}
    table 12                      ``threshold`` in {'mean', 'median'}
    ===========================  ==========================================================================

    Args:
        alpha (float): Weight of :math:`L_{HD}` (of the whole-map loss when ``split=False``).
        beta (float): Weight of :math:`L_{LD}`.
        hd_constraint (str | None): Constraint on high-disparity positions. Defaults to ``'transform'``.
        ld_constraint (str | None): Constraint on low-disparity positions. Defaults to ``'mse'``.
        split (bool): Split the map into HD/LD regions (True, the paper) or apply ``hd_constraint`` with
            weight ``alpha`` to every position (False: table 1 "unsplit", table 5).
        strict_power (float): p of the strict constraint :math:`|F^T-F^S|^p`. Defaults to 2 (MSE).
        distance (str): Disparity distance, ``'l1'`` (paper) or ``'l2'`` (squared difference).
        threshold (str): Threshold statistic of D, ``'mean'`` (paper) or ``'median'``.
        threshold_scope (str): ``'sample'``: P per image (our reading of eq. 4, which defines D per map);
            ``'batch'``: one P over the whole batch.
        temperature (float): Softmax temperature of eq. 2. Defaults to 1 (eq. 2 has none).
        resize (str | None): When student and teacher maps differ in H, W: ``'student'`` resizes the student
            inputs to the teacher's size, ``'teacher'`` the other way (bilinear); ``None`` raises an error.
        return_terms (bool): Return ``{'hd': alpha*L_HD, 'ld': beta*L_LD}`` so that a distiller that accepts
            dicts (:class:`MultiLevelDistiller`) logs them as separate entries; False returns their sum, a
            single tensor, for MMRazor's plain ``ConfigurableDistiller``.
        normalize (bool): Scale-free DFD, **ours, not the paper's** (default False, the paper). Every input
            (``s_feature``, ``t_feature``, ``s_transformed``, ``s_attention``) is first normalised per channel
            to zero mean and unit std over (N, H, W), as PKD does, and eqs. 2-7 then run on the normalised
            maps: :math:`\hat F = (F - \mu_c) / (\sigma_c + 10^{-6})`. Eqs. 5-6 are raw sums, so the paper's
            alpha/beta only fit models whose features have the magnitude of the COCO detectors they were tuned
            on; normalised, the loss is unchanged when student and teacher features are scaled by a constant,
            and a weight tuned on one model means the same on another.
        residual (bool): **Ours, not the paper's** (default False). The weak constraint compares the teacher with
            :math:`F^S + f_{trans}(F^S)` (``s_feature + s_transformed``: the aligned student where channels
            differ) instead of :math:`f_{trans}(F^S)`. With a zero-initialised transform
            (``DFDConnector(zero_init=True)``) the HD constraint starts as strict MSE, the transform learning only a
            correction: at iteration 0 this is ``dfd_split``, which beat DFD on BCCD (47.80 vs 46.30 at 300
            iterations), and the transform can only add what lowers the HD loss from there.
        transform_warmup (float): **Ours** (default 0: none). The transform is weighted in over this fraction of
            the training schedule: the weak constraint compares the teacher with :math:`(1 - m) F^S + m
            f_{trans}(F^S)` (with ``residual``: :math:`F^S + m f_{trans}(F^S)`), :math:`m = \min(1, p / w)` at
            training progress p, read from the Runner's iteration (:mod:`dfd_razor.models.utils.schedule`, so
            exact on resume); outside a training loop m = 1. At m = 0 the transform stays in the graph (zero
            gradients, so DDP needs no ``find_unused_parameters``).

    Numerics: every term is computed and returned in float32 (float64 inputs: float64) whatever the input dtype
    (fp16, bf16, AMP), with autocast disabled inside the loss so that it cannot push the arithmetic back to low
    precision. The difference :math:`F^T - F^S` (or :math:`F^T - X`) is formed in float32 from the low-precision
    inputs, so a difference above 256 (squared: above fp16's 65504), or above 16 with p=4, no longer overflows.
    That float32 difference, computed once per constraint and shared by HD and LD, is the one full-size tensor
    kept for backward (``'pkd'`` and ``normalize`` also keep the student's centred float32 map); no float32 copy
    of an input is kept. The regions are selected with ``torch.where``, not multiplied by the 0/1 mask, so a
    large value at an excluded position cannot turn into inf * 0 = NaN. The gradient reaching a low-precision
    input is cast back to its dtype by autograd.

    After each call, :attr:`stats` holds ``{'hd_fraction': ...}`` (the share of positions in the HD region,
    detached; absent when unsplit), which :class:`MultiLevelDistiller` logs beside the loss terms.
    """

    def __init__(self,
                 alpha: float = 2.8e-5,
                 beta: float = 1e-5,
                 hd_constraint: Optional[str] = 'transform',
                 ld_constraint: Optional[str] = 'mse',
                 split: bool = True,
                 strict_power: float = 2.0,
                 distance: str = 'l1',
                 threshold: str = 'mean',
                 threshold_scope: str = 'sample',
                 temperature: float = 1.0,
                 resize: Optional[str] = None,
                 return_terms: bool = True,
                 normalize: bool = False,
                 residual: bool = False,
                 transform_warmup: float = 0.0) -> None:
        super().__init__()
        for name, value, allowed in (('hd_constraint', hd_constraint, CONSTRAINTS),
                                     ('ld_constraint', ld_constraint, CONSTRAINTS),
                                     ('distance', distance, DISTANCES), ('threshold', threshold, THRESHOLDS),
                                     ('threshold_scope', threshold_scope, THRESHOLD_SCOPES),
                                     ('resize', resize, RESIZE)):
            if value not in allowed:
                raise ValueError(f'DFDLoss: {name} must be one of {allowed}, got {value!r}')
        if split and hd_constraint is None and ld_constraint is None:
            raise ValueError('DFDLoss: hd_constraint and ld_constraint are both None: nothing to distill')
        if not split and hd_constraint is None:
            raise ValueError('DFDLoss: split=False applies hd_constraint to the whole map; it must not be None')
        for name, value in (('alpha', alpha), ('beta', beta), ('strict_power', strict_power),
                            ('temperature', temperature)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):  # '2e-5' in a config: a TypeError later
                raise ValueError(f'DFDLoss: {name} must be a number (model.distiller.levels.loss.{name} in a '
                                 f'recipe), got {value!r} ({type(value).__name__})')
        if strict_power <= 0:
            raise ValueError(f'DFDLoss: strict_power must be > 0, got {strict_power}')
        if temperature <= 0:
            raise ValueError(f'DFDLoss: temperature must be > 0, got {temperature}')
        self.alpha = alpha
        self.beta = beta
        self.hd_constraint = hd_constraint
        self.ld_constraint = ld_constraint if split else None
        self.split = split
        self.strict_power = strict_power
        self.distance = distance
        self.threshold = threshold
        self.threshold_scope = threshold_scope
        self.temperature = temperature
        self.resize = resize
        self.return_terms = return_terms
        self.normalize = normalize
        if not isinstance(residual, bool):
            raise ValueError(f'DFDLoss: residual must be True or False, got {residual!r}')
        if (isinstance(transform_warmup, bool) or not isinstance(transform_warmup, (int, float))
                or not 0 <= transform_warmup <= 1):
            raise ValueError(f'DFDLoss: transform_warmup must be a fraction of the schedule in [0, 1], got '
                             f'{transform_warmup!r}')
        if (residual or transform_warmup) and not self.needs_transformed:
            raise ValueError(f'DFDLoss: residual and transform_warmup act on the transform, and neither '
                             f'hd_constraint ({hd_constraint!r}) nor ld_constraint ({ld_constraint!r}) uses it')
        self.residual = residual
        self.transform_warmup = float(transform_warmup)
        self.stats: Dict[str, Tensor] = {}

    @property
    def needs_transformed(self) -> bool:
        """Whether an ``s_transformed`` input must be wired to this loss."""
        return any(c is not None and c.startswith('transform') for c in (self.hd_constraint, self.ld_constraint))

    @classmethod
    def weight_terms(cls, args: Dict[str, Any]) -> Dict[str, Tuple[str, ...]]:
        """The weight arguments and the logged terms they scale (see :mod:`dfd_razor.models.losses.weights`):
        alpha the HD term and beta the LD term when split; alpha the whole map (``'all'``) when not."""
        if not args.get('split', True):
            return {'alpha': ('all', )}
        return {'alpha': ('hd', ), 'beta': ('ld', )}

    def forward(self,
                s_feature: Tensor,
                t_feature: Tensor,
                s_transformed: Optional[Tensor] = None,
                s_attention: Optional[Tensor] = None) -> Union[Tensor, Dict[str, Tensor]]:
        """Compute the loss of one level.

        Args:
            s_feature (Tensor): Student feature (N, C, H, W), mapped to the teacher's channels where they
                differ; the strict (and PKD) constraint compares it with the teacher.
            t_feature (Tensor): Teacher feature (N, C, H, W). Never receives gradient.
            s_transformed (Tensor, optional): Connector output for the ``'transform'`` constraints.
            s_attention (Tensor, optional): Student feature the attention map is computed from (any channel
                count); defaults to ``s_feature``. Recipes whose channels differ pass the raw student feature,
                so that the mask does not depend on the alignment layer.

        Returns:
            dict[str, Tensor] | Tensor: ``{'hd': ..., 'ld': ...}`` (``{'all': ...}`` when unsplit), already
            weighted, or their sum when ``return_terms=False``.
        """
        t_feature = t_feature.detach()
        self._check(s_feature, t_feature, s_transformed, s_attention)
        # As for the attention (utils/disparity.py): under autocast, ops would be free to run in low precision.
        with torch.autocast(device_type=t_feature.device.type, enabled=False):
            terms = self._forward(s_feature, t_feature, s_transformed, s_attention)
        if self.return_terms:
            return terms
        return sum(terms.values())

    def _forward(self, s_feature: Tensor, t_feature: Tensor, s_transformed: Optional[Tensor],
                 s_attention: Optional[Tensor]) -> Dict[str, Tensor]:
        """Eqs. 2-7 on the checked inputs, autocast disabled; returns the weighted terms."""
        dtype = _compute_dtype(s_feature, t_feature, s_transformed)
        size_t, size_s = t_feature.shape[2:], s_feature.shape[2:]
        if size_t != size_s:
            # interpolated in the compute dtype: the float32 copy of the input is not kept for backward
            if self.resize == 'student':
                s_feature = F.interpolate(s_feature.to(dtype), size_t, mode='bilinear', align_corners=False)
                if s_transformed is not None:
                    s_transformed = F.interpolate(s_transformed.to(dtype), size_t, mode='bilinear',
                                                  align_corners=False)
            else:
                t_feature = F.interpolate(t_feature.to(dtype), size_s, mode='bilinear', align_corners=False)
        if s_transformed is not None and (self.residual or self.transform_warmup):
            s_transformed = self._weak_input(s_feature, s_transformed, dtype)
        if s_attention is not None and s_attention.shape[2:] != t_feature.shape[2:]:
            s_attention = F.interpolate(s_attention, t_feature.shape[2:], mode='bilinear', align_corners=False)
        if self.normalize:
            s_feature, t_feature = _pkd_norm(s_feature, dtype), _pkd_norm(t_feature, dtype)
            s_transformed = None if s_transformed is None else _pkd_norm(s_transformed, dtype)
            s_attention = None if s_attention is None else _pkd_norm(s_attention, dtype)

        n = t_feature.shape[0]
        terms: Dict[str, Tensor] = {}
        cache: Dict[str, Tensor] = {}
        self.stats = {}
        if not self.split:
            terms['all'] = self.alpha / n * self._constrained_sum(self.hd_constraint, s_feature, t_feature,
                                                                  s_transformed, None, dtype, cache)
        else:
            mask = hd_mask(s_feature if s_attention is None else s_attention, t_feature, self.distance,
                           self.threshold, self.threshold_scope, self.temperature)
            self.stats['hd_fraction'] = mask.float().mean().detach()
            if self.hd_constraint is not None:
                terms['hd'] = self.alpha / n * self._constrained_sum(self.hd_constraint, s_feature, t_feature,
                                                                     s_transformed, mask, dtype, cache)
            if self.ld_constraint is not None:
                terms['ld'] = self.beta / n * self._constrained_sum(self.ld_constraint, s_feature, t_feature,
                                                                    s_transformed, ~mask, dtype, cache)
        return terms

    def transform_mix(self) -> float:
        """The warm-up's weight m of the transform at the current training iteration (1 without warm-up)."""
        progress = training_progress() if self.transform_warmup else None
        return 1.0 if progress is None else ramp(progress, self.transform_warmup)

    def _weak_input(self, s_feature: Tensor, s_transformed: Tensor, dtype: torch.dtype) -> Tensor:
        """What the weak constraint compares with the teacher under ``residual`` / ``transform_warmup``."""
        m = self.transform_mix()
        s, x = s_feature.to(dtype), s_transformed.to(dtype)
        if self.residual:
            return s + x if m == 1.0 else s + m * x
        return (1.0 - m) * s + m * x

    def _constrained_sum(self, constraint: str, s_feature: Tensor, t_feature: Tensor,
                         s_transformed: Optional[Tensor], region: Optional[Tensor], dtype: torch.dtype,
                         cache: Dict[str, Tensor]) -> Tensor:
        """Sum over channels and the region's positions (all positions when ``region`` is None), in ``dtype``.

        The per-position map of each constraint is computed once per call and kept in ``cache``, so HD and LD
        under the same constraint share one difference (and one tensor saved for backward).
        """
        per_pos = None
        for part in constraint.split('+'):  # 'transform+mse': transform, then mse, added
            if part not in cache:
                if part == 'mse':
                    cache[part] = self._strict(_diff(t_feature, s_feature, dtype))
                elif part == 'transform':
                    cache[part] = _diff(t_feature, s_transformed, dtype).square().sum(1)
                else:  # 'pkd'
                    cache[part] = (_pkd_norm(t_feature, dtype) - _pkd_norm(s_feature, dtype)).square().sum(1)
            per_pos = cache[part] if per_pos is None else per_pos + cache[part]
        if region is None:
            return per_pos.sum()
        # where, not a product with the 0/1 mask: an inf at an excluded position must not become inf * 0 = NaN
        return torch.where(region, per_pos, per_pos.new_zeros(())).sum()

    def _strict(self, diff: Tensor) -> Tensor:
        """Per-position sum over channels of |diff|^p, shape (N, H, W), in the dtype of ``diff``."""
        p = self.strict_power
        if p == 2:
            powered = diff.square()
        elif p == 1:
            powered = diff.abs()
        else:
            powered = _AbsPow.apply(diff, p)
        return powered.sum(1)

    def _check(self, s_feature: Tensor, t_feature: Tensor, s_transformed: Optional[Tensor],
               s_attention: Optional[Tensor]) -> None:
        for name, x in (('s_feature', s_feature), ('t_feature', t_feature), ('s_transformed', s_transformed),
                        ('s_attention', s_attention)):
            if x is not None and x.dim() != 4:
                raise ValueError(f'DFDLoss: {name} must be (N, C, H, W), got shape {tuple(x.shape)}')
        if s_feature.shape[:2] != t_feature.shape[:2]:
            raise ValueError(
                f'DFDLoss: student feature {tuple(s_feature.shape)} and teacher feature {tuple(t_feature.shape)} '
                'differ in batch or channels; map the student to the teacher\'s channels with a connector '
                '(e.g. ConvModuleConnector) on s_feature')
        if s_transformed is None and self.needs_transformed:
            raise ValueError('DFDLoss: a transform constraint is configured but no s_transformed input is wired; '
                             'map s_transformed to the student feature through a DFDConnector')
        if s_transformed is not None and s_transformed.shape != s_feature.shape:
            raise ValueError(f'DFDLoss: s_transformed {tuple(s_transformed.shape)} must have the shape of '
                             f's_feature {tuple(s_feature.shape)}: set the connector\'s out_channels to the '
                             'teacher\'s channels')
        if s_feature.shape[2:] != t_feature.shape[2:] and self.resize is None:
            raise ValueError(
                f'DFDLoss: student feature {tuple(s_feature.shape)} and teacher feature {tuple(t_feature.shape)} '
                "differ in spatial size; set resize='student' or resize='teacher' to interpolate")


def _compute_dtype(*tensors: Optional[Tensor]) -> torch.dtype:
    """float32, or float64 when an input is float64: the dtype every term is computed and returned in."""
    dtype = torch.float32
    for x in tensors:
        if x is not None:
            dtype = torch.promote_types(dtype, x.dtype)
    return dtype


def _diff(a: Tensor, b: Tensor, dtype: torch.dtype) -> Tensor:
    """``a - b`` in ``dtype`` from inputs of any dtype. The subtraction promotes ``b`` itself (CUDA inside the
    kernel, CPU through a temporary) and keeps nothing for backward; only the result is then kept, by the square or
    power that follows."""
    return a.to(dtype) - b


class _AbsPow(torch.autograd.Function):
    """:math:`|x|^p` keeping only ``x`` for backward (``x.abs().pow(p)`` keeps ``|x|`` too, and a clamp a third).

    For p < 1, |x| is clamped to 1e-12 first so that the gradient stays finite where T == S exactly; as with
    ``x.abs().clamp_min(1e-12).pow(p)``, positions with |x| < 1e-12 get zero gradient.
    """

    @staticmethod
    def forward(ctx, x: Tensor, p: float) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.p = p
        return x.abs().clamp_min(1e-12).pow(p) if p < 1 else x.abs().pow(p)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, = ctx.saved_tensors
        p = ctx.p
        a = x.abs()
        if p < 1:
            slope = torch.where(a < 1e-12, a.new_zeros(()), a.clamp_min(1e-12).pow(p - 1))
        else:
            slope = a.pow(p - 1)
        return grad * p * slope * x.sign(), None


def _pkd_norm(feat: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """PKD's normalisation: zero mean, unit std per channel over (N, H, W) (MMRazor ``PKDLoss.norm``), in ``dtype``.

    The one full-size tensor kept for backward is the centred map in ``dtype`` (``torch.std`` would keep the input
    too).
    """
    dims = (0, 2, 3)
    feat = feat.to(dtype)  # not kept for backward; the gradient is summed in ``dtype``, then cast once
    centred = feat - feat.mean(dim=dims, keepdim=True)
    count = feat.numel() // feat.shape[1]
    std = (centred.square().sum(dim=dims, keepdim=True) / (count - 1)).sqrt()  # unbiased, as torch.std
    return centred / (std + 1e-6)
