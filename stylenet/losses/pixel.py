"""Per-pixel loss: the baseline of perceptual super-resolution."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class PixelLoss(nn.Module):
    """``weight * mean((output - target)^2)`` on ``(B, C, H, W)`` images."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, output: Tensor, target: Tensor) -> dict[str, Tensor]:
        return {"pixel": self.weight * F.mse_loss(output.float(), target.float())}
