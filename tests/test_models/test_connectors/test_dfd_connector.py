import pytest
import torch
from torch import nn

from dfd_razor.models.connectors import DFDConnector


def _layers(conn):
    return [(type(m).__name__, getattr(m, 'in_channels', None), getattr(m, 'out_channels', None),
             getattr(m, 'kernel_size', None)) for m in conn.transform]


def test_conv131_2c_is_figure_3a():
    conn = DFDConnector(256)
    assert _layers(conn) == [('Conv2d', 256, 512, (1, 1)), ('ReLU', None, None, None),
                             ('Conv2d', 512, 512, (3, 3)), ('ReLU', None, None, None),
                             ('Conv2d', 512, 256, (1, 1))]
    # parameter count of 1x1(256->512) + 3x3(512->512) + 1x1(512->256), with biases
    expected = (256 * 512 + 512) + (512 * 512 * 9 + 512) + (512 * 256 + 256)
    assert sum(p.numel() for p in conn.parameters()) == expected


@pytest.mark.parametrize('structure,expansion,kernels,hidden', [
    ('conv1-1', 1.0, [1, 1], 8), ('conv3-3', 1.0, [3, 3], 8), ('conv1-3-1', 0.5, [1, 3, 1], 4),
    ('conv1-3-1', 1.0, [1, 3, 1], 8), ('conv1-3-1', 2.0, [1, 3, 1], 16)])
def test_table5_variants(structure, expansion, kernels, hidden):
    conn = DFDConnector(8, structure=structure, expansion=expansion)
    convs = [m for m in conn.transform if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size[0] for c in convs] == kernels
    assert all(c.out_channels == hidden for c in convs[:-1]) and convs[-1].out_channels == 8
    assert sum(isinstance(m, nn.ReLU) for m in conn.transform) == len(kernels) - 1
    x = torch.randn(2, 8, 5, 7)
    assert conn(x).shape == x.shape


def test_maps_student_to_teacher_channels():
    conn = DFDConnector(in_channels=24, out_channels=32)
    assert conn(torch.randn(1, 24, 6, 6)).shape == (1, 32, 6, 6)
    assert conn.hidden_channels == 64


def test_errors():
    with pytest.raises(ValueError, match=r'\(N, 8, H, W\).*\(1, 4, 3, 3\)'):
        DFDConnector(8)(torch.randn(1, 4, 3, 3))
    with pytest.raises(ValueError, match='structure'):
        DFDConnector(8, structure='conv5')



def test_zero_init_outputs_zero_and_still_learns():
    conn = DFDConnector(8, zero_init=True, init_cfg=dict(type='Kaiming', layer='Conv2d'))
    conn.init_weights()  # a re-initialisation must not undo the zero last layer
    x = torch.randn(2, 8, 5, 7)
    assert torch.equal(conn(x), torch.zeros_like(x))
    ((x + conn(x) - torch.randn_like(x)) ** 2).mean().backward()
    assert conn.transform[-1].weight.grad.abs().sum() > 0  # the zero layer gets a gradient: it can move off 0
    assert conn.transform[0].weight.grad.abs().sum() == 0  # behind a zero layer, nothing yet


def test_zero_init_bad_input():
    with pytest.raises(ValueError) as e:
        DFDConnector(8, zero_init='yes')
    assert str(e.value) == "DFDConnector: zero_init must be True or False, got 'yes'"
