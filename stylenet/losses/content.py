"""Content loss: mean squared error between features of the output and of the content image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch.nn.functional as F
from torch import Tensor

from stylenet.losses.base import FeatureLoss, as_weights


class ContentLoss(FeatureLoss):
    """``weight * sum_l w_l * mean((phi_l(output) - phi_l(content))^2)``.

    Args:
        layers: taps, as a list or ``{tap: weight}``.
        weight: overall weight.
    """

    name = "content"

    def __init__(self, layers: Mapping[str, float] | Sequence[str] = ("relu2_2",), weight: float = 1.0) -> None:
        super().__init__(weight)
        self.layers = as_weights(layers)

    @property
    def taps(self) -> tuple[str, ...]:
        return tuple(self.layers)

    def forward(self, output: Mapping[str, Tensor], content: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {
            f"content/{tap}": self.weight * w * F.mse_loss(output[tap], content[tap])
            for tap, w in self.layers.items()
        }
