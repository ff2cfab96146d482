"""Feed-forward transform network of Johnson et al. (2016), with residual or ResNeXt blocks.

Reflection-padded 9x9 in/out convs, two stride-2 down convs, ``num_blocks`` residual (or ResNeXt)
blocks, two nearest-upsample + 3x3 conv stages instead of transposed convs, affine instance norm.
Input RGB ``(B, 3, H, W)`` in [0, 1]; output ``(B, 3, H, W)`` in [0, 1] for any ``H, W``: the input is
replicate-padded to a multiple of 4 (at least 8) and the output cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylenet.models.registry import register_model

BLOCKS = ("residual", "resnext")
NORMS = {"instance": lambda channels: nn.InstanceNorm2d(channels, affine=True), "batch": nn.BatchNorm2d}
OUTPUTS = ("sigmoid", "tanh", "clamp", "scaled_tanh")


class ConvLayer(nn.Sequential):
    """Reflection pad + conv (+ nearest upsample before it), then an optional norm (``"instance"``, affine, or
    ``"batch"``; None for none) and ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        upsample: int = 1,
        groups: int = 1,
        norm: str | None = "instance",
        relu: bool = True,
    ) -> None:
        layers: list[nn.Module] = []
        if upsample > 1:
            layers.append(nn.Upsample(scale_factor=upsample, mode="nearest"))
        if kernel_size > 1:
            layers.append(nn.ReflectionPad2d(kernel_size // 2))
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size, stride, groups=groups))
        if norm is not None:
            if norm not in NORMS:
                raise ValueError(f"unknown norm {norm!r}; choose one of {tuple(NORMS)}")
            layers.append(NORMS[norm](out_channels))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """``x + N(conv3x3(ReLU(N(conv3x3(x)))))`` with ``N`` the ``norm`` of :class:`ConvLayer`; channels unchanged."""

    def __init__(self, channels: int, norm: str | None = "instance") -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3, norm=norm), ConvLayer(channels, channels, 3, norm=norm, relu=False)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResNeXtBlock(nn.Module):
    """Bottleneck ``1x1 -> grouped 3x3 (cardinality groups) -> 1x1`` with a residual connection."""

    def __init__(self, channels: int, cardinality: int = 32, width: int | None = None) -> None:
        super().__init__()
        width = width or channels
        if width % cardinality:
            raise ValueError(f"ResNeXt width {width} is not divisible by cardinality {cardinality}")
        self.body = nn.Sequential(
            ConvLayer(channels, width, 1),
            ConvLayer(width, width, 3, groups=cardinality),
            ConvLayer(width, channels, 1, relu=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def to_unit_range(x: Tensor, output: str, training: bool = False) -> Tensor:
    """Map a network's last conv to [0, 1]: ``"sigmoid"``, ``"tanh"`` (``(tanh + 1) / 2``), ``"clamp"``, or
    ``"scaled_tanh"`` (``0.5 + 0.6 tanh``, clamped to [0, 1] unless ``training``).

    A sigmoid's slope falls to 0.003 at an output of 0.997: a region that saturates there gets almost no
    gradient from any loss, and stays (the blob artefacts). ``"scaled_tanh"`` is nowhere that flat inside
    [0, 1] (its slope is at least 0.18 there), and training sees it unclamped, so every pixel keeps a gradient.
    """
    if output == "sigmoid":
        return torch.sigmoid(x)
    if output == "tanh":
        return (torch.tanh(x) + 1) / 2
    if output == "scaled_tanh":
        y = 0.5 + 0.6 * torch.tanh(x)  # 0 and 1 at tanh = -/+0.83, where the slope is still 0.18
        return y if training else y.clamp(0, 1)
    return x.clamp(0, 1)


def _padding(size: int) -> int:
    """Extra pixels making ``size`` a multiple of 4 and at least 8 (the smallest size the pads accept)."""
    return max(8, size + (-size) % 4) - size


@register_model("transform_net")
class TransformNet(nn.Module):
    """Johnson et al. 2016 image transform network.

    Args:
        channels: width of the first layer (32 in the paper); later stages use 2x and 4x.
        num_blocks: number of residual blocks (5 in the paper).
        block: ``"residual"`` or ``"resnext"``.
        cardinality: groups of the ResNeXt 3x3 conv.
        bottleneck: ResNeXt bottleneck width (defaults to the block's channels).
        output: how the last conv is mapped to [0, 1] (:func:`to_unit_range`): ``"sigmoid"``, ``"tanh"``,
            ``"clamp"`` or ``"scaled_tanh"``.
    """

    def __init__(
        self,
        channels: int = 32,
        num_blocks: int = 5,
        block: str = "residual",
        cardinality: int = 32,
        bottleneck: int | None = None,
        output: str = "sigmoid",
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"unknown block {block!r}; choose one of {BLOCKS}")
        if output not in OUTPUTS:
            raise ValueError(f"unknown output mapping {output!r}; choose one of {OUTPUTS}")
        self.builder_args = {
            "channels": channels,
            "num_blocks": num_blocks,
            "block": block,
            "cardinality": cardinality,
            "bottleneck": bottleneck,
            "output": output,
        }
        c1, c2, c3 = channels, 2 * channels, 4 * channels
        self.output = output
        self.encoder = nn.Sequential(
            ConvLayer(3, c1, 9), ConvLayer(c1, c2, 3, stride=2), ConvLayer(c2, c3, 3, stride=2)
        )
        if block == "residual":
            blocks = [ResidualBlock(c3) for _ in range(num_blocks)]
        else:
            blocks = [ResNeXtBlock(c3, cardinality, bottleneck) for _ in range(num_blocks)]
        self.blocks = nn.Sequential(*blocks)
        self.decoder = nn.Sequential(
            ConvLayer(c3, c2, 3, upsample=2),
            ConvLayer(c2, c1, 3, upsample=2),
            ConvLayer(c1, 3, 9, norm=None, relu=False),
        )

    def forward(self, images: Tensor) -> Tensor:
        h, w = images.shape[-2:]
        # always pad (possibly by 0): a branch on the size would be frozen by tracing and ONNX export
        x = F.pad(images, (0, _padding(w), 0, _padding(h)), mode="replicate")
        return to_unit_range(self.decoder(self.blocks(self.encoder(x)))[..., :h, :w], self.output, self.training)
