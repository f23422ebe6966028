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


def test_residual_starts_as_the_identity_and_learns():
    conn = DFDConnector(8, residual=True, init_cfg=dict(type='Kaiming', layer='Conv2d'))
    conn.init_weights()  # a re-initialisation must not undo the zero last layer
    x = torch.randn(2, 8, 5, 7)
    assert torch.equal(conn(x), x)
    target = torch.randn_like(x)
    ((conn(x) - target) ** 2).mean().backward()
    last = conn.transform[-1]
    assert last.weight.grad.abs().sum() > 0  # the zero layer gets a gradient: the transform can move off identity
    assert conn.transform[0].weight.grad.abs().sum() == 0  # behind a zero layer, nothing yet


def test_warmup_weighs_the_transform_in_by_training_progress():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('test_connector_warmup')
    hub.update_info('max_iters', 100)
    hub.update_info('loop_stage', 'train')
    x = torch.randn(1, 8, 4, 4)
    plain = DFDConnector(8, warmup=0.4)
    res = DFDConnector(8, warmup=0.4, residual=True)
    nn.init.normal_(res.transform[-1].weight)
    for it, m in ((0, 0.0), (10, 0.25), (20, 0.5), (40, 1.0), (90, 1.0)):
        hub.update_info('iter', it)
        g_plain, g_res = plain.transform(x), res.transform(x)
        assert torch.allclose(plain(x), (1 - m) * x + m * g_plain, atol=1e-6), it
        assert torch.allclose(res(x), x + m * g_res, atol=1e-6), it
    hub.update_info('loop_stage', 'val')
    assert torch.allclose(plain(x), plain.transform(x))  # outside training: the whole transform


@pytest.mark.parametrize('kwargs,message', [
    (dict(in_channels=8, out_channels=16, residual=True),
     'DFDConnector: residual=True and warmup > 0 add the student feature to the output, so they need '
     'in_channels == out_channels, got 8 and 16'),
    (dict(in_channels=8, warmup=1.5), 'DFDConnector: warmup must be a fraction of the schedule in [0, 1], got 1.5'),
    (dict(in_channels=8, residual='yes'), "DFDConnector: residual must be True or False, got 'yes'"),
])
def test_residual_and_warmup_bad_input(kwargs, message):
    with pytest.raises(ValueError) as e:
        DFDConnector(**kwargs)
    assert str(e.value) == message
