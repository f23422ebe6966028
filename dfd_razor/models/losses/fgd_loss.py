"""FGD loss: focal (foreground/background, attention) and global (GcBlock relation) distillation, one feature level."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model.weight_init import constant_init, kaiming_init
from mmrazor.registry import MODELS
from torch import Tensor, nn

SHAPE_KEYS = ('img_shape', 'batch_input_shape')
#: Boxes per chunk when the foreground mask is built (bounds the (K, H, W) temporary).
_BOX_CHUNK = 64


@MODELS.register_module()
class FGDLoss(nn.Module):
    r"""Focal and Global Knowledge Distillation for one feature level of a detector.

    `Focal and Global Knowledge Distillation for Detectors (CVPR 2022)
    <https://arxiv.org/abs/2111.11837>`_, ported from the authors' mmdet 2.x code, ``FeatureLoss`` in
    `yzd-v/FGD mmdet/distillation/losses/fgd.py <https://github.com/yzd-v/FGD>`_ as of commit f1da292, which
    fills the mask as ``Mask_fg[i][hmin:hmax+1, wmin:wmax+1]`` (rows, columns); the version of commit 04900ad
    indexes ``[wmin:wmax+1, hmin:hmax+1]``, rows and columns swapped, which this port does not reproduce. It gives
    the FGD rows of table 2 of the DFD paper.

    With student feature :math:`F^S` (after the alignment connector where channels differ), teacher feature
    :math:`F^T` (N, C, H, W) and temperature T:

    .. math::
        A^S(F) &= HW \cdot \mathrm{softmax}_{HW}\big(\tfrac{1}{C}\textstyle\sum_c |F_c| / T\big),\quad
        A^C(F) = C \cdot \mathrm{softmax}_{C}\big(\tfrac{1}{HW}\textstyle\sum_{h,w} |F_{h,w}| / T\big)  \\
        M_{hw} &= \max_{\text{boxes } r \ni (h,w)} \frac{1}{H_r W_r},\quad
        B_{hw} = \frac{[M_{hw} = 0]}{\sum_{h,w} [M_{hw} = 0]}                                          \\
        L_{fg} &= \tfrac{1}{N} \textstyle\sum M\, A^S(F^T) A^C(F^T) (F^T - F^S)^2,\quad
        L_{bg} = \tfrac{1}{N} \textstyle\sum B\, A^S(F^T) A^C(F^T) (F^T - F^S)^2                       \\
        L_{at} &= \tfrac{1}{N}\big(\textstyle\sum |A^C(F^S) - A^C(F^T)| + \sum |A^S(F^S) - A^S(F^T)|\big) \\
        L_{global} &= \tfrac{1}{N} \textstyle\sum \big(F^S + \mathcal{R}_S(F^S) - F^T - \mathcal{R}_T(F^T)\big)^2 \\
        L &= \alpha L_{fg} + \beta L_{bg} + \gamma L_{at} + \lambda L_{global}

    where sums run over the batch, channels and positions; a box r (x1, y1, x2, y2) is scaled to the map by
    ``W / img_w`` and ``H / img_h`` and covers rows :math:`\lfloor y_1 \rfloor .. \lceil y_2 \rceil` and columns
    :math:`\lfloor x_1 \rfloor .. \lceil x_2 \rceil` (both ends included), :math:`H_r = \lceil y_2 \rceil -
    \lfloor y_1 \rfloor + 1`, :math:`W_r` likewise; overlapping boxes keep the largest weight (the smaller box).
    :math:`\mathcal{R}(F) = W_{v2}\,\mathrm{ReLU}(\mathrm{LN}(W_{v1} \sum_j \mathrm{softmax}_j(W_k F_j) F_j))`
    is the GcBlock context: ``conv_mask_{s,t}`` (:math:`W_k`) and ``channel_add_conv_{s,t}`` (:math:`W_{v1}`,
    LayerNorm, ReLU, :math:`W_{v2}`), one set for the student and one for the teacher, both trained by this loss,
    initialised as the original (``conv_mask`` Kaiming normal fan-in, the last conv of ``channel_add_conv`` zero).

    Faithful to the original, including what it does at image borders: a box reaching the right or bottom edge
    gets :math:`\lceil x_2 \rceil = W` (one column beyond the map); the slice stops at the map, but the weight
    :math:`1/(H_r W_r)` still counts that column. Two points the original leaves open, chosen here:

    - boxes are scaled by ``img_shape`` (the resized image before padding, mmdet 2's ``img_metas['img_shape']``,
      the original); ``image_shape_key='batch_input_shape'`` scales by the padded batch input instead, the extent
      the feature map actually covers.
    - a box starting left of/above the image (negative coordinates, which mmdet's Resize clips away) is clipped
      to the map; the original's Python slice would wrap a negative start around to the other side.

    Per-detector weights of the original configs (``configs/distillers/fgd/<name>.py``, lines 7-11; temp=0.5 in
    all), used by ``configs/methods/fgd*.py``:

    - RetinaNet, ``fgd_retina_rx101_64x4d_distill_retina_r50_fpn_2x_coco``: alpha 0.001, beta 0.0005, gamma 0.0005,
      lambda 5e-6 (five FPN levels);
    - Faster R-CNN, ``fgd_cascade_mask_rcnn_rx101_32x4d_distill_faster_rcnn_r50_fpn_2x_coco``: alpha 5e-5,
      beta 2.5e-5, gamma 5e-5, lambda 5e-7 (four FPN levels, ``neck.fpn_convs.0-3``);
    - RepPoints, ``fgd_reppoints_rx101_64x4d_distill_reppoints_r50_fpn_2x_coco``: alpha 0.0016, beta 0.0008,
      gamma 0.0008, lambda 8e-6 (five FPN levels).

    The defaults below are those of the original class (``gamma_fgd=0.001`` there, not a config's value).

    Ground-truth boxes: the loss declares :attr:`needs_data_samples`; :class:`MultiLevelDistiller` then passes the
    batch's ``data_samples`` (mmdet ``DetDataSample``: ``gt_instances.bboxes``, ``metainfo[image_shape_key]``),
    which the checked teacher algorithms hand it for the duration of one ``loss`` call (see
    :meth:`MultiLevelDistiller.data_samples_context`).

    Numerics: every term is computed in the dtype of the GcBlock parameters (float32, also under AMP, with
    autocast disabled inside the loss); the masks without gradient. The teacher feature never receives gradient.

    Args:
        teacher_channels (int): Channels C of the teacher feature (and of the aligned student feature); sizes the
            GcBlocks. :class:`MultiLevelDistiller` fills it from ``levels.teacher_channels``.
        temp (float): Temperature T of both attentions. Defaults to 0.5.
        alpha_fgd (float): Weight of the foreground feature loss. Defaults to 0.001.
        beta_fgd (float): Weight of the background feature loss. Defaults to 0.0005.
        gamma_fgd (float): Weight of the attention loss. Defaults to 0.001.
        lambda_fgd (float): Weight of the global (relation) loss. Defaults to 5e-6.
        image_shape_key (str): Metainfo key boxes are scaled by: ``'img_shape'`` (original) or
            ``'batch_input_shape'``.
        return_terms (bool): Return ``{'fg', 'bg', 'attention', 'global'}``, each weighted, so that
            :class:`MultiLevelDistiller` logs them separately; False returns their sum (the original's one value).
    """

    #: Read by :class:`MultiLevelDistiller`: pass the batch's ``data_samples`` to :meth:`forward`.
    needs_data_samples = True

    def __init__(self,
                 teacher_channels: int,
                 temp: float = 0.5,
                 alpha_fgd: float = 0.001,
                 beta_fgd: float = 0.0005,
                 gamma_fgd: float = 0.001,
                 lambda_fgd: float = 0.000005,
                 image_shape_key: str = 'img_shape',
                 return_terms: bool = True) -> None:
        super().__init__()
        if not isinstance(teacher_channels, int) or teacher_channels < 2:
            raise ValueError(f'FGDLoss: teacher_channels must be an int >= 2 (the GcBlock halves it), got '
                             f'{teacher_channels!r}')
        if temp <= 0:
            raise ValueError(f'FGDLoss: temp must be > 0, got {temp}')
        if image_shape_key not in SHAPE_KEYS:
            raise ValueError(f'FGDLoss: image_shape_key must be one of {SHAPE_KEYS}, got {image_shape_key!r}')
        self.teacher_channels = teacher_channels
        self.temp = temp
        self.alpha_fgd = alpha_fgd
        self.beta_fgd = beta_fgd
        self.gamma_fgd = gamma_fgd
        self.lambda_fgd = lambda_fgd
        self.image_shape_key = image_shape_key
        self.return_terms = return_terms
        c = teacher_channels
        # the original's names, so that its parameters map one to one. conv_mask's bias is dead, as in the
        # original: it adds one constant to every logit of a softmax over positions, which softmax ignores, so its
        # gradient is zero; it is kept so that the original's checkpoints load strictly.
        self.conv_mask_s = nn.Conv2d(c, 1, kernel_size=1)
        self.conv_mask_t = nn.Conv2d(c, 1, kernel_size=1)
        self.channel_add_conv_s = _channel_add(c)
        self.channel_add_conv_t = _channel_add(c)
        self.reset_parameters()
        self.stats: Dict[str, Tensor] = {}

    def reset_parameters(self) -> None:
        """The original's initialisation: Kaiming normal (fan-in) context masks, zero last ``channel_add`` conv."""
        kaiming_init(self.conv_mask_s, mode='fan_in')
        kaiming_init(self.conv_mask_t, mode='fan_in')
        constant_init(self.channel_add_conv_s[-1], val=0)
        constant_init(self.channel_add_conv_t[-1], val=0)

    @classmethod
    def weight_terms(cls, args: Dict[str, Any]) -> Dict[str, Tuple[str, ...]]:
        """The weight arguments and the logged terms they scale (see :mod:`dfd_razor.models.losses.weights`)."""
        return {'alpha_fgd': ('fg', ), 'beta_fgd': ('bg', ), 'gamma_fgd': ('attention', ), 'lambda_fgd': ('global', )}

    def forward(self, preds_S: Tensor, preds_T: Tensor,
                data_samples: Optional[Sequence[Any]] = None) -> Union[Tensor, Dict[str, Tensor]]:
        """Compute the loss of one level.

        Args:
            preds_S (Tensor): Student feature (N, C, H, W), with the teacher's channels (align it with a connector).
            preds_T (Tensor): Teacher feature (N, C, H, W). Never receives gradient.
            data_samples (Sequence[DetDataSample]): The batch's samples: ``gt_instances.bboxes`` (x1, y1, x2, y2 in
                input pixels) and ``metainfo[image_shape_key]`` (h, w). Passed by :class:`MultiLevelDistiller`.

        Returns:
            dict[str, Tensor] | Tensor: the weighted terms, or their sum when ``return_terms=False``.
        """
        preds_T = preds_T.detach()
        self._check(preds_S, preds_T)
        boxes, shapes = self._boxes(data_samples, preds_S.shape[0])
        with torch.autocast(device_type=preds_T.device.type, enabled=False):
            terms = self._forward(preds_S, preds_T, boxes, shapes)
        if self.return_terms:
            return terms
        return sum(terms.values())

    def _forward(self, preds_S: Tensor, preds_T: Tensor, boxes: List[Tensor],
                 shapes: List[Tuple[float, float]]) -> Dict[str, Tensor]:
        dtype = self.conv_mask_s.weight.dtype
        s, t = preds_S.to(dtype), preds_T.to(dtype)
        n, _, h, w = s.shape
        s_spatial, s_channel = attention(s, self.temp)
        with torch.no_grad():
            t_spatial, t_channel = attention(t, self.temp)
            fg, bg = fg_bg_masks(boxes, shapes, h, w, dtype, s.device)
        self.stats = {'fg_fraction': (fg > 0).to(dtype).mean().detach()}
        # sum_c C_t (T - S)^2, then weighted per position: the same numbers as the original's sqrt products
        per_pos = ((t - s).square() * t_channel[:, :, None, None]).sum(1) * t_spatial
        fg_loss = (per_pos * fg).sum() / n
        bg_loss = (per_pos * bg).sum() / n
        at_loss = ((s_channel - t_channel).abs().sum() + (s_spatial - t_spatial).abs().sum()) / n
        out_s = s + self.channel_add_conv_s(gc_context(s, self.conv_mask_s))
        out_t = t + self.channel_add_conv_t(gc_context(t, self.conv_mask_t))
        global_loss = (out_s - out_t).square().sum() / n
        return {'fg': self.alpha_fgd * fg_loss, 'bg': self.beta_fgd * bg_loss,
                'attention': self.gamma_fgd * at_loss, 'global': self.lambda_fgd * global_loss}

    def _check(self, preds_S: Tensor, preds_T: Tensor) -> None:
        for name, x in (('preds_S', preds_S), ('preds_T', preds_T)):
            if x.dim() != 4:
                raise ValueError(f'FGDLoss: {name} must be (N, C, H, W), got shape {tuple(x.shape)}')
        if preds_S.shape != preds_T.shape:
            raise ValueError(
                f'FGDLoss: student feature {tuple(preds_S.shape)} and teacher feature {tuple(preds_T.shape)} differ; '
                'FGD compares them position by position and channel by channel (map the student to the teacher\'s '
                'channels with a connector, configs/methods/fgd_align.py)')
        if preds_T.shape[1] != self.teacher_channels:
            raise ValueError(f'FGDLoss: the features have {preds_T.shape[1]} channels (shape {tuple(preds_T.shape)}), '
                             f'the GcBlocks were built for teacher_channels={self.teacher_channels}')

    def _boxes(self, data_samples: Optional[Sequence[Any]], n: int) -> Tuple[List[Tensor], List[Tuple[float, float]]]:
        """Per image, the gt boxes (K, 4) and the (h, w) they are scaled by, from mmdet data samples."""
        if data_samples is None:
            raise ValueError('FGDLoss needs the batch\'s ground-truth boxes, and no data_samples reached it: train it '
                             'in MultiLevelDistiller under CheckedFpnTeacherDistill or CheckedSingleTeacherDistill, '
                             'which pass them (MMRazor\'s own algorithms and ConfigurableDistiller do not)')
        if isinstance(data_samples, dict) or not isinstance(data_samples, (list, tuple)):
            raise TypeError(f'FGDLoss: data_samples must be a list of mmdet DetDataSample (one per image), got '
                            f'{type(data_samples).__name__} (MMYOLO\'s packed dict is not supported)')
        if len(data_samples) != n:
            raise ValueError(f'FGDLoss: {len(data_samples)} data samples for a batch of {n} feature maps')
        boxes, shapes = [], []
        for i, sample in enumerate(data_samples):
            instances = getattr(sample, 'gt_instances', None)
            bboxes = getattr(instances, 'bboxes', None) if instances is not None else None
            if bboxes is None:
                raise ValueError(f'FGDLoss: data sample {i} has no gt_instances.bboxes; FGD needs the ground-truth '
                                 'boxes of every training image')
            bboxes = getattr(bboxes, 'tensor', bboxes)  # mmdet's HorizontalBoxes
            if not torch.is_tensor(bboxes) or bboxes.dim() != 2 or bboxes.shape[1] != 4:
                shape = tuple(bboxes.shape) if torch.is_tensor(bboxes) else type(bboxes).__name__
                raise ValueError(f'FGDLoss: gt_instances.bboxes of data sample {i} must be (K, 4) x1, y1, x2, y2, '
                                 f'got {shape}')
            metainfo = getattr(sample, 'metainfo', {})
            if self.image_shape_key not in metainfo:
                raise ValueError(f'FGDLoss: data sample {i} has no metainfo {self.image_shape_key!r} to scale its '
                                 f'boxes by (it has {sorted(metainfo)})')
            img_h, img_w = metainfo[self.image_shape_key][:2]
            if bboxes.numel() and bool(((bboxes[:, 2] < bboxes[:, 0]) | (bboxes[:, 3] < bboxes[:, 1])).any()):
                raise ValueError(f'FGDLoss: data sample {i} has boxes with x2 < x1 or y2 < y1; boxes must be '
                                 'x1, y1, x2, y2')
            boxes.append(bboxes)
            shapes.append((float(img_h), float(img_w)))
        return boxes, shapes


def _channel_add(c: int) -> nn.Sequential:
    """GcBlock transform: 1x1 conv C -> C/2, LayerNorm, ReLU, 1x1 conv C/2 -> C (the original's layers)."""
    return nn.Sequential(
        nn.Conv2d(c, c // 2, kernel_size=1), nn.LayerNorm([c // 2, 1, 1]), nn.ReLU(inplace=True),
        nn.Conv2d(c // 2, c, kernel_size=1))


def attention(feat: Tensor, temp: float) -> Tuple[Tensor, Tensor]:
    """FGD's spatial (N, H, W) and channel (N, C) attention of ``feat`` (N, C, H, W), each summing to HW and C."""
    n, c, h, w = feat.shape
    value = feat.abs()
    spatial = h * w * F.softmax((value.mean(1) / temp).reshape(n, -1), dim=1).reshape(n, h, w)
    channel = c * F.softmax(value.mean((2, 3)) / temp, dim=1)
    return spatial, channel


def gc_context(feat: Tensor, conv_mask: nn.Conv2d) -> Tensor:
    """GcBlock spatial pooling: the feature averaged over positions with softmax(conv_mask(F)) weights, (N, C, 1, 1)."""
    n, c, h, w = feat.shape
    weights = F.softmax(conv_mask(feat).reshape(n, 1, h * w), dim=2)  # (N, 1, HW)
    return torch.bmm(feat.reshape(n, c, h * w), weights.transpose(1, 2)).reshape(n, c, 1, 1)


def fg_bg_masks(boxes: Sequence[Tensor], shapes: Sequence[Tuple[float, float]], h: int, w: int,
                dtype: torch.dtype = torch.float32,
                device: Optional[torch.device] = None) -> Tuple[Tensor, Tensor]:
    """FGD's foreground and background weights (N, H, W) on an H x W map (see :class:`FGDLoss`).

    Foreground: 1 / (cells of the box, counted as the original counts them) on the cells each box covers, the
    maximum where boxes overlap. Background: 1 / (number of background cells) on every other cell of the image;
    all zero when boxes cover the whole map.
    """
    n = len(boxes)
    fg = torch.zeros(n, h, w, dtype=dtype, device=device)
    rows = torch.arange(h, device=device)
    cols = torch.arange(w, device=device)
    for i, (b, (img_h, img_w)) in enumerate(zip(boxes, shapes)):
        if not b.numel():
            continue
        b = (b if b.is_floating_point() else b.float()).to(device)
        # the original's arithmetic and order: x / img_w * W, then floor / ceil, in the boxes' dtype
        wmin = torch.floor(b[:, 0] / img_w * w).long()
        wmax = torch.ceil(b[:, 2] / img_w * w).long()
        hmin = torch.floor(b[:, 1] / img_h * h).long()
        hmax = torch.ceil(b[:, 3] / img_h * h).long()
        area = 1.0 / (hmax + 1 - hmin).to(dtype) / (wmax + 1 - wmin).to(dtype)
        for start in range(0, len(b), _BOX_CHUNK):
            sl = slice(start, start + _BOX_CHUNK)
            in_rows = (rows >= hmin[sl, None]) & (rows <= hmax[sl, None])  # (K, H)
            in_cols = (cols >= wmin[sl, None]) & (cols <= wmax[sl, None])  # (K, W)
            cover = in_rows[:, :, None] & in_cols[:, None, :]
            weight = torch.where(cover, area[sl, None, None], area.new_zeros(())).amax(0)
            fg[i] = torch.maximum(fg[i], weight)
    bg = (fg == 0).to(dtype)
    count = bg.sum((1, 2), keepdim=True)
    bg = torch.where(count > 0, bg / count.clamp_min(1), bg)
    return fg, bg
