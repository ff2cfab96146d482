"""Johnson transform net: any size in, the same size out, in [0, 1]; residual and ResNeXt blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stylenet.models import ResNeXtBlock, TransformNet
from stylenet.models.transform_net import to_unit_range


@pytest.mark.parametrize("block", ["residual", "resnext"])
@pytest.mark.parametrize(("h", "w"), [(33, 47), (3, 5), (64, 64), (61, 17)])
def test_output_size_equals_input_size(block, h, w):
    net = TransformNet(channels=8, num_blocks=2, block=block, cardinality=4)
    out = net(torch.rand(2, 3, h, w))
    assert out.shape == (2, 3, h, w)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("output", ["sigmoid", "tanh", "clamp", "scaled_tanh"])
def test_output_range_is_explicit(output):
    net = TransformNet(channels=8, num_blocks=1, output=output).eval()
    with torch.no_grad():
        net.decoder[-1][-1].bias.fill_(50.0)
    out = net(torch.rand(1, 3, 16, 16))
    assert out.max() <= 1 and out.min() >= 0
    assert out.mean() > 0.99


def test_scaled_tanh_keeps_a_gradient_where_a_sigmoid_saturates():
    near_white = torch.tensor(0.997)  # the logit at which each mapping outputs 0.997, and its slope there
    slopes = {}
    for output, logit in (("sigmoid", torch.logit(near_white)), ("scaled_tanh", torch.atanh((near_white - 0.5) / 0.6))):
        logit.requires_grad_(True)
        value = to_unit_range(logit, output, training=True)
        value.backward()
        assert value.item() == pytest.approx(0.997)
        slopes[output] = logit.grad.item()
    assert slopes["sigmoid"] < 0.004 and slopes["scaled_tanh"] > 0.17
    y = to_unit_range(torch.tensor([-6.0, 6.0]), "scaled_tanh", training=True)
    assert y[0] < 0 and y[1] > 1, "training sees it unclamped"
    assert torch.equal(to_unit_range(torch.tensor([-6.0, 6.0]), "scaled_tanh"), torch.tensor([0.0, 1.0]))
    net = TransformNet(channels=8, num_blocks=1, output="scaled_tanh").eval()
    image = torch.rand(1, 3, 20, 24)
    assert torch.allclose(torch.jit.script(net)(image), net(image), atol=1e-6)


def test_architecture_follows_johnson():
    net = TransformNet()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].kernel_size == (9, 9) and convs[-1].kernel_size == (9, 9)
    assert [c.stride for c in convs[1:3]] == [(2, 2), (2, 2)]
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    assert sum(isinstance(m, nn.Upsample) for m in net.modules()) == 2
    norms = [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(n.affine for n in norms)
    assert len(net.blocks) == 5 and convs[3].out_channels == 128


def test_resnext_block_groups_its_3x3_conv():
    block = ResNeXtBlock(64, cardinality=32)
    grouped = [m for m in block.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(grouped) == 1 and grouped[0].groups == 32
    with pytest.raises(ValueError, match="cardinality 32"):
        ResNeXtBlock(48, cardinality=32)


def test_unknown_options_are_rejected():
    with pytest.raises(ValueError, match="dense"):
        TransformNet(block="dense")
    with pytest.raises(ValueError, match="relu"):
        TransformNet(output="relu")


def test_gradients_reach_every_parameter():
    net = TransformNet(channels=8, num_blocks=1, block="resnext", cardinality=4)
    net(torch.rand(2, 3, 20, 20)).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
