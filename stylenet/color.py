"""Colour operations on ``(B, 3, H, W)`` RGB tensors in [0, 1]: colour preservation and strength blending."""

from __future__ import annotations

import torch
from torch import Tensor

# ITU-R BT.601 full-range RGB -> YCbCr (the JPEG convention); rows give Y, Cb, Cr. Cb and Cr are centred on 0.
RGB_TO_YCBCR = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ]
)


def rgb_to_ycbcr(images: Tensor) -> Tensor:
    """``(B, 3, H, W)`` RGB -> YCbCr (Y in [0, 1], Cb and Cr in [-0.5, 0.5])."""
    return torch.einsum("ij,bjhw->bihw", RGB_TO_YCBCR.to(images), images)


def ycbcr_to_rgb(images: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_ycbcr`."""
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(RGB_TO_YCBCR.double()).to(images), images)


def preserve_color(content: Tensor, stylized: Tensor) -> Tensor:
    """Luminance-only transfer (Gatys et al. 2016): the stylised image's Y with the content's Cb and Cr.

    Both ``(B, 3, H, W)`` in [0, 1]; the result is clamped to [0, 1].
    """
    luma = rgb_to_ycbcr(stylized)[:, :1]
    chroma = rgb_to_ycbcr(content)[:, 1:]
    return ycbcr_to_rgb(torch.cat([luma, chroma], dim=1)).clamp(0, 1)


def blend(content: Tensor, stylized: Tensor, strength: float) -> Tensor:
    """``(1 - strength) * content + strength * stylized``; ``strength`` in [0, 1] (0 returns the content)."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    return torch.lerp(content, stylized, strength)
