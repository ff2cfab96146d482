"""Sub-pixel folding of the decoder's upsample + 3x3 convs computes the same function."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stylenet.models import TransformNet
from stylenet.models.subpixel import PhaseSpaceOutput, SubPixelConv, fold_upsampling
from stylenet.models.transform_net import ConvLayer


def test_subpixel_conv_equals_upsample_pad_conv():
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 7, 3)
    x = torch.randn(2, 5, 9, 6)
    expected = conv(nn.functional.pad(nn.functional.interpolate(x, scale_factor=2.0), (1, 1, 1, 1), mode="reflect"))
    torch.testing.assert_close(SubPixelConv(conv)(x), expected, rtol=1e-5, atol=1e-5)


def randomise_norms(net: nn.Module) -> None:
    for norm in (m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)):
        norm.weight.data.uniform_(0.5, 1.5)
        norm.bias.data.uniform_(-0.5, 0.5)


@pytest.mark.parametrize(("h", "w"), [(3, 5), (8, 8), (11, 6)])
def test_phase_space_output_equals_upsample_stage_and_output_conv(h, w):
    torch.manual_seed(0)
    stage, output = ConvLayer(6, 5, 3, upsample=2).eval(), ConvLayer(5, 3, 9, norm=None, relu=False).eval()
    randomise_norms(stage)
    x = torch.randn(2, 6, h, w)
    folded = PhaseSpaceOutput(SubPixelConv(stage[2]), stage[3], output[1])
    with torch.no_grad():
        torch.testing.assert_close(folded(x), output(stage(x)), rtol=1e-5, atol=1e-5)


def test_phase_space_output_needs_a_4m_plus_1_kernel():
    stage = ConvLayer(4, 4, 3, upsample=2)
    with pytest.raises(ValueError, match="4m"):
        PhaseSpaceOutput(SubPixelConv(stage[2]), stage[3], nn.Conv2d(4, 3, 7))


@pytest.mark.parametrize(("h", "w"), [(8, 8), (37, 53), (64, 64)])
def test_folded_net_equals_the_net(h, w):
    torch.manual_seed(0)
    net = TransformNet(channels=8, num_blocks=2).eval()
    randomise_norms(net)
    folded = fold_upsampling(net)
    assert sum(isinstance(m, SubPixelConv) for m in folded.modules()) == 2
    assert isinstance(folded.decoder[1], PhaseSpaceOutput) and isinstance(folded.decoder[2], nn.Identity)
    assert not any(isinstance(m, nn.Upsample) for m in folded.modules())
    x = torch.rand(2, 3, h, w)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), rtol=1e-5, atol=1e-5)
    assert any(isinstance(m, nn.Upsample) for m in net.modules()), "the original net is left as it was"


def test_only_plain_3x3_convs_fold():
    with pytest.raises(ValueError, match="3x3"):
        SubPixelConv(nn.Conv2d(4, 4, 5))
