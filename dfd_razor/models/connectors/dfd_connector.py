"""DFD's learnable transformation module f_trans, the weak constraint on high-disparity regions."""
from typing import Dict, List, Optional

from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS
from torch import Tensor, nn

from ..utils.schedule import ramp, training_progress

STRUCTURES = ('conv1-1', 'conv3-3', 'conv1-3-1')


@MODELS.register_module()
class DFDConnector(BaseConnector):
    r"""Transformation module :math:`f_{trans}` of DFD (paper figure 3a, table 5).

    Convolutions with ReLU between them (none after the last), stride 1, padding keeping H and W:

    - ``'conv1-3-1'``: 1x1 C_in->E, ReLU, 3x3 E->E, ReLU, 1x1 E->C_out (the paper's choice with E = 2C,
      "Conv1-3-1(2C)"; table 5 also has 0.5C and C).
    - ``'conv1-1'``: 1x1 C_in->E, ReLU, 1x1 E->C_out.
    - ``'conv3-3'``: 3x3 C_in->E, ReLU, 3x3 E->C_out.

    E = round(expansion * C_out) unless ``hidden_channels`` is given. The paper has one C (student and teacher
    alike); where they differ we expand from the teacher's channels, the space the output lives in. Table 5
    gives no width for Conv1-1 and Conv3-3: their recipes use expansion 1 (E = C).

    Two switches of ours (not in the paper; both off by default, the paper's transform), from our held-out studies,
    where the freshly initialised transform is where DFD loses to the same loss without it (``dfd_split``):

    - ``residual``: :math:`f_{trans}(F) = F + g(F)` with ``g`` the convolutions above and its last convolution
      zero-initialised (again after ``init_weights``), so at iteration 0 the transform is the identity, the HD
      constraint equals strict MSE, and the transform learns only what lowers the loss from there.
    - ``warmup`` (a fraction of the training schedule): the transform is weighted in linearly over it,
      :math:`f = F + m\,g(F)` (residual) or :math:`f = (1 - m) F + m\,g(F)`, :math:`m = \min(1, p / w)` at training
      progress ``p`` (the Runner's iteration, :mod:`dfd_razor.models.utils.schedule`: exact on resume); outside a
      training loop ``m = 1``. ``g`` stays in the graph at ``m = 0`` (zero gradients, not missing ones, so DDP
      needs no ``find_unused_parameters``).

    Both add ``F`` to a teacher-space output, so they need ``in_channels == out_channels``.

    Args:
        in_channels (int): Student channels.
        out_channels (int, optional): Teacher channels. Defaults to ``in_channels``.
        structure (str): One of ``'conv1-3-1'``, ``'conv1-1'``, ``'conv3-3'``. Defaults to ``'conv1-3-1'``.
        expansion (float): Hidden width as a multiple of ``out_channels``. Defaults to 2.
        hidden_channels (int, optional): Hidden width, overriding ``expansion``.
        residual (bool): Identity plus a zero-initialised transform. Defaults to False (the paper's).
        warmup (float): Fraction of the schedule over which the transform is weighted in. Defaults to 0 (none).
        init_cfg (dict, optional): Initialisation config. Defaults to PyTorch's default init.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: Optional[int] = None,
                 structure: str = 'conv1-3-1',
                 expansion: float = 2.0,
                 hidden_channels: Optional[int] = None,
                 residual: bool = False,
                 warmup: float = 0.0,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        if structure not in STRUCTURES:
            raise ValueError(f'DFDConnector: structure must be one of {STRUCTURES}, got {structure!r}')
        out_channels = in_channels if out_channels is None else out_channels
        hidden = hidden_channels if hidden_channels is not None else int(round(expansion * out_channels))
        for name, value in (('in_channels', in_channels), ('out_channels', out_channels),
                            ('hidden channels', hidden)):
            if value < 1:
                raise ValueError(f'DFDConnector: {name} must be >= 1, got {value}')
        self.in_channels, self.out_channels, self.hidden_channels = in_channels, out_channels, hidden
        self.structure = structure
        kernels = [int(k) for k in structure[len('conv'):].split('-')]
        widths = [in_channels] + [hidden] * (len(kernels) - 1) + [out_channels]
        layers: List[nn.Module] = []
        for i, k in enumerate(kernels):
            if i:
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.Conv2d(widths[i], widths[i + 1], k, padding=k // 2))
        self.transform = nn.Sequential(*layers)
        if not isinstance(residual, bool):
            raise ValueError(f'DFDConnector: residual must be True or False, got {residual!r}')
        if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or not 0 <= warmup <= 1:
            raise ValueError(f'DFDConnector: warmup must be a fraction of the schedule in [0, 1], got {warmup!r}')
        if (residual or warmup) and in_channels != out_channels:
            raise ValueError(f'DFDConnector: residual=True and warmup > 0 add the student feature to the output, so '
                             f'they need in_channels == out_channels, got {in_channels} and {out_channels}')
        self.residual, self.warmup = residual, float(warmup)
        self._zero_last()

    def _zero_last(self) -> None:
        if self.residual:
            last = self.transform[-1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def init_weights(self) -> None:
        """``init_cfg``'s initialisation; with ``residual`` the last convolution is zeroed again after it."""
        super().init_weights()
        self._zero_last()

    def mix(self) -> float:
        """The warm-up's weight ``m`` of the transform at the current training iteration (1 without warm-up)."""
        progress = training_progress()
        return 1.0 if not self.warmup or progress is None else ramp(progress, self.warmup)

    def forward_train(self, feature: Tensor) -> Tensor:
        """Apply the transform. ``feature`` is (N, in_channels, H, W); the output (N, out_channels, H, W)."""
        if feature.dim() != 4 or feature.shape[1] != self.in_channels:
            raise ValueError(f'DFDConnector: expected a (N, {self.in_channels}, H, W) student feature, got shape '
                             f'{tuple(feature.shape)}; set in_channels to the student\'s channels at this level')
        out = self.transform(feature)
        m = self.mix() if self.warmup else 1.0
        if self.residual:
            return feature + out * m if m != 1.0 else feature + out
        return out if m == 1.0 else feature * (1.0 - m) + out * m
