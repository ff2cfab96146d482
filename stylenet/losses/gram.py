"""Gram-matrix style loss (Gatys et al. 2016; Johnson et al. 2016)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor

from stylenet.losses.base import StyleLoss, as_weights


def gram_matrix(features: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, C, C)``: ``F F^T / (C H W)``."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


class GramLoss(StyleLoss):
    """``weight * sum_l w_l * mean((G_l(output) - G_l(style))^2)`` over the given taps."""

    name = "gram"

    def __init__(self, layers: Mapping[str, float] | Sequence[str], weight: float = 1.0) -> None:
        super().__init__(weight)
        self.layers = as_weights(layers)

    @property
    def taps(self) -> tuple[str, ...]:
        return tuple(self.layers)

    def term_weights(self) -> dict[str, float]:
        return self.layers

    def statistics(self, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {tap: gram_matrix(features[tap]) for tap in self.layers}
