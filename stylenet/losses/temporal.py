"""Temporal stability learned from still images: the compound regulariser of Wang et al. 2020 ("Consistent
video style transfer via compound regularization")."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def random_affine(batch: int, max_shift: float, max_rotation: float, max_zoom: float, device: torch.device) -> Tensor:
    """``(B, 2, 3)`` affine maps for :func:`torch.nn.functional.affine_grid`, uniform in each parameter: a shift
    of up to ``max_shift`` (a fraction of the image's size), a rotation of up to ``max_rotation`` degrees and a
    zoom of up to ``max_zoom`` (relative), either way."""
    draws = torch.rand(batch, 4, device=device) * 2 - 1
    angle = draws[:, 0] * math.radians(max_rotation)
    scale = 1 + draws[:, 1] * max_zoom
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    shift = draws[:, 2:] * 2 * max_shift  # affine_grid's coordinates span 2 per side
    return torch.stack([torch.stack([cos, -sin, shift[:, 0]], -1), torch.stack([sin, cos, shift[:, 1]], -1)], 1)


class TemporalLoss(nn.Module):
    """``weight * mean(mask * (f(W(x) + n) - W(f(x)))^2)``: a network ``f`` should move with its input.

    ``W`` is a small random affine warp per image (:func:`random_affine`, a stand-in for the motion between two
    video frames), ``n`` Gaussian noise of standard deviation ``noise`` (the sensor noise that differs between
    frames), and ``mask`` keeps the pixels ``W`` takes from inside the image. Needs no video: each batch of
    photos is its own pair of frames. ``forward`` takes the network, the ``(B, 3, H, W)`` images in [0, 1]
    and their stylisation ``f(x)`` (computed once, for the other losses too).
    """

    def __init__(
        self,
        weight: float = 1.0,
        max_shift: float = 0.02,
        max_rotation: float = 1.0,
        max_zoom: float = 0.02,
        noise: float = 0.02,
    ) -> None:
        super().__init__()
        self.weight = float(weight)
        self.max_shift, self.max_rotation, self.max_zoom, self.noise = max_shift, max_rotation, max_zoom, noise

    def forward(self, net: Callable[[Tensor], Tensor], images: Tensor, stylized: Tensor) -> dict[str, Tensor]:
        b = images.shape[0]
        theta = random_affine(b, self.max_shift, self.max_rotation, self.max_zoom, images.device)
        grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
        warped = F.grid_sample(images, grid, padding_mode="border", align_corners=False)
        noisy = (warped + self.noise * torch.randn_like(warped)).clamp(0, 1)
        moved = F.grid_sample(stylized, grid.to(stylized.dtype), padding_mode="border", align_corners=False)
        mask = (grid.abs() <= 1).all(-1, keepdim=True).permute(0, 3, 1, 2).to(stylized.dtype)
        squared = (net(noisy) - moved) ** 2 * mask
        return {"temporal": self.weight * squared.sum() / (mask.sum() * squared.shape[1]).clamp(min=1)}
