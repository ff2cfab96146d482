"""Exact, cheaper forms of the decoder's "nearest 2x upsample -> reflection pad -> conv" for inference.

With a nearest 2x upsample, output pixel ``(2i + a, 2j + b)`` of a 3x3 conv only reads input rows
``i - 1 + a .. i + a`` and columns ``j - 1 + b .. j + b``: each of the four phases ``(a, b)`` is a 2x2
conv on the low-resolution input with the 3x3 kernel's taps summed onto that grid (rows
``(k0, k1 + k2)`` for ``a = 0`` and ``(k0 + k1, k2)`` for ``a = 1``, the same for columns). Reflection
padding of the upsampled image by 1 equals replicate padding of the input by 1. The four phases are
interleaved with ``pixel_shuffle``: :class:`SubPixelConv`, 16 / 36 of the multiply-adds and no
full-resolution upsampled copy.

The net's last stage (upsample, 3x3 conv, instance norm, ReLU) feeds the k x k RGB output conv
(k = 9). :class:`PhaseSpaceOutput` keeps that stage's four phases apart and runs the output conv on
them: ``4C`` input channels, ``4 * 3`` output phases and a ``(k + 1) / 2`` kernel at half resolution,
where a CPU runtime computes 12 output channels far better than 3 (ONNX Runtime works in blocks of 8 or 16
channels). Only the 3-channel result is interleaved. Both equal the original up to float rounding.
"""

from __future__ import annotations

import copy
import itertools

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

    def phases(self, x: Tensor) -> Tensor:
        """``(B, I, H, W)`` -> the output's four phases ``(B, O, 4, H, W)``, phase ``(a, b)`` at index ``2a + b``."""
        phases = [  # phase (a, b) reads the input replicate-padded by 1 - a, a rows and 1 - b, b columns
            F.conv2d(F.pad(x, (1 - b, b, 1 - a, a), mode="replicate"), self.weight[k], self.bias)
            for k, (a, b) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1)))
        ]
        return torch.stack(phases, dim=2)

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(self.phases(x).flatten(1, 2), 2)


def _phase_conv_kernel(weight: Tensor) -> Tensor:
    """A ``(O, C, k, k)`` conv at full resolution -> ``(4O, 4C, t, t)`` on phase planes, ``t = (k + 1) / 2``.

    Channels are ordered ``(channel, a, b)``: output phase ``(a, b)`` reads input phase ``(p, q)`` at
    padded plane offset ``(dy, dx)`` through full-resolution tap ``(2 dy + p - a, 2 dx + q - b)``.
    """
    out_channels, in_channels, k, _ = weight.shape
    taps = (k + 1) // 2
    kernel = weight.new_zeros(out_channels, 2, 2, in_channels, 2, 2, taps, taps)
    for a, b, p, q, dy, dx in itertools.product(*[range(2)] * 4, range(taps), range(taps)):
        ty, tx = 2 * dy + p - a, 2 * dx + q - b
        if 0 <= ty < k and 0 <= tx < k:
            kernel[:, a, b, :, p, q, dy, dx] = weight[:, :, ty, tx]
    return kernel.reshape(4 * out_channels, 4 * in_channels, taps, taps)


def _reflect_pad_phases(planes: Tensor, pad: int, dim: int, phase_dim: int) -> Tensor:
    """Phase planes of an image -> the phase planes of it reflection-padded by ``2 * pad`` along one axis.

    ``planes`` holds the image's even (phase 0) and odd (phase 1) lines along ``dim`` at index 0 and 1 of
    ``phase_dim``. Reflecting the image about its first line reflects phase 0 about its first line and
    mirrors phase 1 (first line repeated); at the far end of an even-sized image it is the other way round.
    """
    n = planes.shape[dim]
    before, after = [], []
    for phase in range(2):
        before.append(planes.narrow(dim, 1 - phase, pad).narrow(phase_dim, phase, 1).flip(dim))
        after.append(planes.narrow(dim, n - pad - phase, pad).narrow(phase_dim, phase, 1).flip(dim))
    return torch.cat([torch.cat(before, phase_dim), planes, torch.cat(after, phase_dim)], dim)


class PhaseSpaceOutput(nn.Module):
    """The last upsampling stage and the output conv, on phase planes; ``(B, I, H, W) -> (B, O, 2H, 2W)``.

    Computes ``Conv_kxk(ReflectionPad_{k//2}(ReLU(IN(Conv3x3(ReflectionPad1(Upsample2x(x)))))))`` for
    ``k = 4m + 1`` (the net's 9x9 output conv). The instance norm's statistics over the four phases are
    those of the full-resolution image; the output conv is a ``(2m + 1)``-tap conv over the padded planes.
    """

    def __init__(self, upsample: SubPixelConv, norm: nn.InstanceNorm2d, output: nn.Conv2d) -> None:
        super().__init__()
        k = output.kernel_size[0]
        if output.kernel_size != (k, k) or k % 4 != 1 or output.stride != (1, 1) or output.groups != 1:
            raise ValueError(f"the output conv must be k x k with k = 4m + 1, stride 1, ungrouped; got {output}")
        self.upsample, self.norm, self.pad = upsample, norm, k // 4
        self.register_buffer("weight", _phase_conv_kernel(output.weight.detach()))
        bias = None if output.bias is None else output.bias.detach().repeat_interleave(4)
        self.register_buffer("bias", bias)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        phases = self.upsample.phases(x)  # (B, C, 4, H, W)
        c = phases.shape[1]
        planes = F.relu(self.norm(phases.reshape(b, c, 4 * h, w))).reshape(b, c, 2, 2, h, w)
        planes = _reflect_pad_phases(_reflect_pad_phases(planes, self.pad, 4, 2), self.pad, 5, 3)
        padded = planes.reshape(b, 4 * c, h + 2 * self.pad, w + 2 * self.pad)
        return F.pixel_shuffle(F.conv2d(padded, self.weight, self.bias), 2)


def _is_upsampling(layer: nn.Module) -> bool:
    return isinstance(layer, ConvLayer) and isinstance(layer[0], nn.Upsample) and layer[0].scale_factor == 2


def _folds_into_phase_space(layer: nn.Module, following: nn.Module) -> bool:
    """Whether ``layer`` (a folded upsampling stage with norm and ReLU) and ``following`` (a reflection-padded
    conv alone) form the stage :class:`PhaseSpaceOutput` computes."""
    if not (isinstance(layer, ConvLayer) and isinstance(following, ConvLayer) and len(following) == 2):
        return False
    stage = [type(m) for m in layer]
    if stage != [nn.Identity, nn.Identity, SubPixelConv, nn.InstanceNorm2d, nn.ReLU]:
        return False
    pad, conv = following
    k = conv.kernel_size[0] if isinstance(conv, nn.Conv2d) else 0
    return isinstance(pad, nn.ReflectionPad2d) and pad.padding == (k // 2,) * 4 and k % 4 == 1 and conv.groups == 1


def fold_upsampling(net: nn.Module) -> nn.Module:
    """A copy of ``net`` (eval mode) with every upsampling :class:`ConvLayer` using :class:`SubPixelConv`, and
    a last upsampling stage followed by a ``4m + 1`` output conv computed as :class:`PhaseSpaceOutput`."""
    net = copy.deepcopy(net).eval()
    for module in net.modules():
        if _is_upsampling(module):
            conv = module[2]
            if isinstance(module[1], nn.ReflectionPad2d) and isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3):
                module[0], module[1], module[2] = nn.Identity(), nn.Identity(), SubPixelConv(conv)
    for module in list(net.modules()):
        if isinstance(module, nn.Sequential) and not isinstance(module, ConvLayer):
            for i in range(len(module) - 1):
                layer, following = module[i], module[i + 1]
                if _folds_into_phase_space(layer, following):
                    module[i] = PhaseSpaceOutput(layer[2], layer[3], following[1])
                    module[i + 1] = nn.Identity()
    return net
