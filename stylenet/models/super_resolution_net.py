"""Super-resolution network of Johnson et al. (2016, supplementary material), by a factor of 2, 4 or 8.

A reflection-padded 9x9 conv to ``channels``, ``num_blocks`` residual blocks, log2(factor) nearest-upsample +
3x3 conv stages (the transform net's upsampling, which :func:`stylenet.models.subpixel.fold_upsampling`
turns into sub-pixel convs for inference), a 9x9 conv to RGB; batch norm as in the paper, or instance norm.
With ``residual`` the network predicts the difference from a bicubic upsampling of its input (a global skip
as in VDSR, Kim et al. 2016; not in the paper), so that it starts from bicubic and learns only the detail.
Input ``(B, 3, h, w)`` in [0, 1]; output ``(B, 3, factor * h, factor * w)`` in [0, 1].
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from stylenet.models.registry import register_model
from stylenet.models.transform_net import NORMS, OUTPUTS, ConvLayer, ResidualBlock, to_unit_range

FACTORS = (2, 4, 8)


def _padding(size: int) -> int:
    """Extra pixels making ``size`` at least 8 (the 9x9 convs' reflection pads need more than 4)."""
    return max(8, size) - size


@register_model("super_resolution_net")
class SuperResolutionNet(nn.Module):
    """Args:
    factor: the upscaling factor, 2, 4 or 8.
    channels: the width of every layer (64 in the paper).
    num_blocks: residual blocks (4 in the paper).
    norm: ``"batch"`` (the paper's), ``"instance"`` or None (no normalisation, as EDSR found better for SR:
        batch statistics of training crops need not fit a whole photo).
    output: how the last conv is mapped to [0, 1] (``"tanh"``: the paper's scaled tanh); with ``residual``
        the sum is clamped.
    residual: add a bicubic upsampling of the input to the last conv.
    """

    def __init__(
        self,
        factor: int = 4,
        channels: int = 64,
        num_blocks: int = 4,
        norm: str | None = "batch",
        output: str = "tanh",
        residual: bool = False,
    ) -> None:
        super().__init__()
        if factor not in FACTORS:
            raise ValueError(f"unsupported factor {factor}; choose one of {FACTORS}")
        if norm is not None and norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; choose one of {tuple(NORMS)}")
        if output not in OUTPUTS:
            raise ValueError(f"unknown output mapping {output!r}; choose one of {OUTPUTS}")
        self.builder_args = {
            "factor": factor,
            "channels": channels,
            "num_blocks": num_blocks,
            "norm": norm,
            "output": output,
            "residual": residual,
        }
        self.factor, self.output, self.residual = factor, output, residual
        self.head = ConvLayer(3, channels, 9, norm=norm)
        self.blocks = nn.Sequential(*(ResidualBlock(channels, norm) for _ in range(num_blocks)))
        stages = factor.bit_length() - 1
        self.upsample = nn.Sequential(*(ConvLayer(channels, channels, 3, upsample=2, norm=norm) for _ in range(stages)))
        self.tail = ConvLayer(channels, 3, 9, norm=None, relu=False)

    def forward(self, images: Tensor) -> Tensor:
        h, w = images.shape[-2:]
        # always pad (possibly by 0): a branch on the size would be frozen by tracing and ONNX export
        x = F.pad(images, (0, _padding(w), 0, _padding(h)), mode="replicate")
        x = self.tail(self.upsample(self.blocks(self.head(x))))[..., : self.factor * h, : self.factor * w]
        if self.residual:
            return (x + F.interpolate(images, scale_factor=float(self.factor), mode="bicubic")).clamp(0, 1)
        return to_unit_range(x, self.output, self.training)
