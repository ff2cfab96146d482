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

    @property
    def has_target(self) -> bool:
        """Whether :meth:`set_target` fixed the content features."""
        return all(hasattr(self, self._buffer(tap)) for tap in self.layers)

    def set_target(self, features: Mapping[str, Tensor]) -> None:
        """Fix the content features ``{tap: (1 or B, C, H, W)}`` once (optimising one image against one
        content); :meth:`forward` then reads them when it is given no ``content``. Not saved in state dicts."""
        for tap in self.layers:
            self.register_buffer(self._buffer(tap), features[tap].detach(), persistent=False)

    @staticmethod
    def _buffer(tap: str) -> str:
        return "target_" + tap

    def forward(self, output: Mapping[str, Tensor], content: Mapping[str, Tensor] | None = None) -> dict[str, Tensor]:
        if content is None:
            if not self.has_target:
                raise RuntimeError("ContentLoss has no content: pass content features or call set_target() first")
            content = {tap: getattr(self, self._buffer(tap)) for tap in self.layers}
        return {
            f"content/{tap}": self.weight * w * F.mse_loss(output[tap], content[tap]) for tap, w in self.layers.items()
        }
