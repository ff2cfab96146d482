"""MATLAB-style bicubic resizing by integer factors, and the low-resolution inputs of super-resolution.

:func:`bicubic_downsample` and :func:`bicubic_upsample` are MATLAB's ``imresize(x, 1/f)`` and
``imresize(x, f)`` (the convention of every published SR table, bicubic baselines included): Keys' cubic
kernel with ``a = -0.5`` (stretched by ``f`` when shrinking: antialiasing), symmetric borders, computed as
separable convolutions, so they run batched on any device in training.
:func:`degrade` is the paper's input (Johnson et al. 2016): a Gaussian blur of sigma 1.0, then that
downsampling, quantised to 8 bits as a real low-resolution image is.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2.functional import gaussian_blur

DEGRADATIONS = ("bicubic", "blur_bicubic")


def cubic(x: Tensor, a: float = -0.5) -> Tensor:
    """Keys' cubic convolution kernel (MATLAB's ``a = -0.5``), zero beyond ``|x| >= 2``."""
    x = x.abs()
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return torch.where(x <= 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def _taps(factor: int) -> tuple[Tensor, int]:
    """The normalised taps of a 1/``factor`` antialiased bicubic resize, and the offset of the first tap
    from the first output's window (in input pixels)."""
    centre = 0.5 * factor - 0.5  # of output pixel 0, in input coordinates
    first = math.floor(centre - 2 * factor) + 1
    offsets = torch.arange(first, math.ceil(centre + 2 * factor), dtype=torch.float64) - centre
    weights = cubic(offsets / factor)
    return (weights / weights.sum()), first


def _symmetric_pad(x: Tensor, before: int, after: int) -> Tensor:
    """Pad the last dim by mirroring with the edge pixel repeated (MATLAB's ``symmetric``)."""
    index = torch.arange(-before, x.shape[-1] + after, device=x.device)
    period = 2 * x.shape[-1]
    index = index % period
    index = torch.where(index >= x.shape[-1], period - 1 - index, index)
    return x.index_select(-1, index)


def _downsample_last(x: Tensor, factor: int) -> Tensor:
    weights, first = _taps(factor)
    size = x.shape[-1] // factor
    before = -first
    after = max(0, first + (size - 1) * factor + len(weights) - x.shape[-1])
    padded = _symmetric_pad(x, before, after)
    rows = padded.reshape(-1, 1, padded.shape[-1])
    kernel = weights.to(x.dtype).to(x.device).view(1, 1, -1)
    return F.conv1d(rows, kernel, stride=factor)[..., :size].reshape(*x.shape[:-1], size)


def _separable(images: Tensor, factor: int, resize_last: Callable[[Tensor, int], Tensor]) -> Tensor:
    """``resize_last`` along the width, then along the height."""
    if factor < 1 or int(factor) != factor:
        raise ValueError(f"the resize factor must be a positive integer, not {factor}")
    if factor == 1:
        return images
    rows = resize_last(images, factor)
    return resize_last(rows.transpose(-1, -2), factor).transpose(-1, -2)


def bicubic_downsample(images: Tensor, factor: int) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, C, H // f, W // f)`` as MATLAB's ``imresize(images, 1 / f)`` (bicubic,
    antialiased); ``H`` and ``W`` should be multiples of ``f``."""
    return _separable(images, factor, _downsample_last)


def _upsample_last(x: Tensor, factor: int) -> Tensor:
    phases = []
    for phase in range(factor):
        centre = (phase + 0.5) / factor - 0.5  # of output pixel ``phase``, in input coordinates
        first = math.floor(centre) - 1
        weights = cubic(torch.arange(first, first + 4, dtype=torch.float64) - centre)
        kernel = (weights / weights.sum()).to(x.dtype).to(x.device).view(1, 1, -1)
        padded = _symmetric_pad(x, -first, first + 3)
        phases.append(F.conv1d(padded.reshape(-1, 1, padded.shape[-1]), kernel)[..., : x.shape[-1]])
    interleaved = torch.stack(phases, dim=-1).reshape(*x.shape[:-1], x.shape[-1] * factor)
    return interleaved


def bicubic_upsample(images: Tensor, factor: int) -> Tensor:
    """``(B, C, h, w)`` -> ``(B, C, f h, f w)`` as MATLAB's ``imresize(images, f)`` (bicubic)."""
    return _separable(images, factor, _upsample_last)


def degrade(images: Tensor, factor: int, degradation: str = "blur_bicubic", blur_sigma: float = 1.0) -> Tensor:
    """Low-resolution ``(B, 3, H // f, W // f)`` inputs in [0, 1] from ``(B, 3, H, W)`` images in [0, 1]:
    ``"bicubic"`` (the standard of published tables) or ``"blur_bicubic"`` (a Gaussian blur of ``blur_sigma``
    first, the paper's), quantised to 8 bits."""
    if degradation not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {degradation!r}; choose one of {DEGRADATIONS}")
    if degradation == "blur_bicubic":
        size = 2 * math.ceil(3 * blur_sigma) + 1
        images = gaussian_blur(images, [size, size], [blur_sigma, blur_sigma])
    low = bicubic_downsample(images, factor).clamp(0, 1)
    return (low * 255).round() / 255
