"""Exact, cheaper form of "nearest 2x upsample -> reflection pad 1 -> 3x3 conv" for inference.

With a nearest 2x upsample, output pixel ``(2i + a, 2j + b)`` of the 3x3 conv only reads input rows
``i - 1 + a .. i + a`` and columns ``j - 1 + b .. j + b``: each of the four phases ``(a, b)`` is a 2x2
conv on the low-resolution input with the 3x3 kernel's taps summed onto that grid (rows
``(k0, k1 + k2)`` for ``a = 0`` and ``(k0 + k1, k2)`` for ``a = 1``, the same for columns). Reflection
padding of the upsampled image by 1 equals replicate padding of the input by 1. The four phases are
interleaved with ``pixel_shuffle``. The result equals the original up to float rounding with 16 / 36
of its multiply-adds and no full-resolution upsampled copy.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylenet.models.transform_net import ConvLayer


def _phase_kernels(weight: Tensor) -> Tensor:
    """``(O, I, 3, 3)`` -> ``(4, O, I, 2, 2)``, phases ``(a, b)`` in the order 00, 01, 10, 11."""
    rows = [
        torch.stack([weight[:, :, 0], weight[:, :, 1] + weight[:, :, 2]], dim=2),
        torch.stack([weight[:, :, 0] + weight[:, :, 1], weight[:, :, 2]], dim=2),
    ]
    phases = []
    for r in rows:  # r: (O, I, 2, 3)
        phases.append(torch.stack([r[..., 0], r[..., 1] + r[..., 2]], dim=-1))
        phases.append(torch.stack([r[..., 0] + r[..., 1], r[..., 2]], dim=-1))
    return torch.stack(phases)


class SubPixelConv(nn.Module):
    """``Conv3x3(ReflectionPad1(Upsample2x(x)))`` computed as four 2x2 convs; ``(B, I, H, W) -> (B, O, 2H, 2W)``."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.groups != 1 or conv.padding != (0, 0):
            raise ValueError(f"only an unpadded 3x3 stride-1 conv can be folded, got {conv}")
        self.register_buffer("weight", _phase_kernels(conv.weight.detach()))  # (4, O, I, 2, 2)
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach())

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        x = F.pad(x, (1, 1, 1, 1), mode="replicate")
        phases = [
            F.conv2d(x[..., a : a + h + 1, b : b + w + 1], self.weight[k], self.bias)
            for k, (a, b) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1)))
        ]
        y = torch.stack(phases, dim=2)  # (B, O, 4, H, W), phase index a * 2 + b
        return F.pixel_shuffle(y.flatten(1, 2), 2)


def fold_upsampling(net: nn.Module) -> nn.Module:
    """A copy of ``net`` (eval mode) with every upsampling :class:`ConvLayer` using :class:`SubPixelConv`."""
    net = copy.deepcopy(net).eval()
    for module in net.modules():
        if isinstance(module, ConvLayer) and isinstance(module[0], nn.Upsample) and module[0].scale_factor == 2:
            conv = module[2]
            if isinstance(module[1], nn.ReflectionPad2d) and isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3):
                module[0], module[1], module[2] = nn.Identity(), nn.Identity(), SubPixelConv(conv)
    return net
