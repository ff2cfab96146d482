"""Total-variation regulariser."""

from __future__ import annotations

from torch import Tensor, nn


class TotalVariationLoss(nn.Module):
    """``weight * (mean|x[..., 1:, :] - x[..., :-1, :]| + mean|x[..., 1:] - x[..., :-1]|)`` on ``(B, C, H, W)``."""

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
        dx = (images[..., 1:] - images[..., :-1]).abs().mean()
        return {"tv": self.weight * (dx + dy)}
