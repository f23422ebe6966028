"""DFD's learnable transformation module f_trans, the weak constraint on high-disparity regions."""
from typing import Dict, List, Optional

from mmrazor.models.architectures.connectors.base_connector import BaseConnector
from mmrazor.registry import MODELS
from torch import Tensor, nn

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

    ``zero_init`` (ours, not the paper's; off by default) zero-initialises the last convolution (again after
    ``init_weights``), so the transform's output starts at 0. With ``DFDLoss(residual=True)``, which compares the
    teacher with ``s_feature + f_trans(F^S)``, the HD constraint then starts as the strict one and the transform
    learns only what lowers the loss from there: our held-out studies found the freshly initialised transform to be
    where DFD loses to the same loss without it (``dfd_split``).

    Args:
        in_channels (int): Student channels.
        out_channels (int, optional): Teacher channels. Defaults to ``in_channels``.
        structure (str): One of ``'conv1-3-1'``, ``'conv1-1'``, ``'conv3-3'``. Defaults to ``'conv1-3-1'``.
        expansion (float): Hidden width as a multiple of ``out_channels``. Defaults to 2.
        hidden_channels (int, optional): Hidden width, overriding ``expansion``.
        zero_init (bool): Zero-initialise the last convolution. Defaults to False (PyTorch's init, the paper's).
        init_cfg (dict, optional): Initialisation config. Defaults to PyTorch's default init.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: Optional[int] = None,
                 structure: str = 'conv1-3-1',
                 expansion: float = 2.0,
                 hidden_channels: Optional[int] = None,
                 zero_init: bool = False,
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
        if not isinstance(zero_init, bool):
            raise ValueError(f'DFDConnector: zero_init must be True or False, got {zero_init!r}')
        self.zero_init = zero_init
        self._zero_last()

    def _zero_last(self) -> None:
        if self.zero_init:
            nn.init.zeros_(self.transform[-1].weight)
            nn.init.zeros_(self.transform[-1].bias)

    def init_weights(self) -> None:
        """``init_cfg``'s initialisation; with ``zero_init`` the last convolution is zeroed again after it."""
        super().init_weights()
        self._zero_last()

    def forward_train(self, feature: Tensor) -> Tensor:
        """Apply the transform. ``feature`` is (N, in_channels, H, W); the output (N, out_channels, H, W)."""
        if feature.dim() != 4 or feature.shape[1] != self.in_channels:
            raise ValueError(f'DFDConnector: expected a (N, {self.in_channels}, H, W) student feature, got shape '
                             f'{tuple(feature.shape)}; set in_channels to the student\'s channels at this level')
        return self.transform(feature)
