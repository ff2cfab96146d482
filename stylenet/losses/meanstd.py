"""Mean/std style loss: per-channel first and second moments of the features (Huang & Belongie 2017)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from stylenet.losses.base import TapStyleLoss


def mean_std(features: Tensor, eps: float = 1e-5) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, 2C)``: the per-channel means, then the standard deviations.

    The standard deviation is ``sqrt(var + eps)``: a constant map (a flat-colour crop) gets a finite
    gradient instead of the infinite one of ``sqrt`` at zero.
    """
    flat = features.flatten(2)
    return torch.cat([flat.mean(2), (flat.var(2, unbiased=False) + eps).sqrt()], dim=1)


class MeanStdLoss(TapStyleLoss):
    """``weight * sum_l w_l * mean((s_l(output) - s_l(style))^2)`` with ``s_l`` = :func:`mean_std` of tap ``l``.

    Args:
        layers: taps, as a list or ``{tap: weight}``.
        weight: overall weight.
        eps: added to the variance before the square root.
        relative: as :class:`~stylenet.losses.base.TapStyleLoss`.
    """

    name = "meanstd"

    def __init__(
        self,
        layers: Mapping[str, float] | Sequence[str],
        weight: float = 1.0,
        eps: float = 1e-5,
        relative: bool = False,
    ) -> None:
        super().__init__(layers, weight, relative)
        self.eps = float(eps)

    def statistic(self, features: Tensor) -> Tensor:
        return mean_std(features, self.eps)
