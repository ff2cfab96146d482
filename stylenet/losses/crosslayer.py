"""Cross-layer correlation style loss.

For a pair (shallow tap A, deep tap B), A is pooled with the kernel, stride and padding of B's
receptive field on A's grid, so that each pooled cell covers exactly what one unit of B sees and the
pooled map has B's spatial size. The style statistic is the ``C_A x C_B`` matrix
``A_pooled B^T / (sqrt(C_A C_B) H_B W_B)``, which equals the Gram matrix when A and B coincide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch.nn.functional as F
from torch import Tensor

from stylenet.losses.base import StyleLoss
from stylenet.losses.gram import channel_rows
from stylenet.vgg import PoolGeometry, VGGEncoder

POOLS = ("avg", "max")


def pool_to(features: Tensor, geometry: PoolGeometry, mode: str) -> Tensor:
    """Pool ``(B, C, H, W)`` with ``geometry``; ``avg`` ignores padded cells, ``max`` pads with -inf.

    A square window is pooled as a column pass then a row pass (``2k`` reads per output instead of
    ``k^2``): the max, and the mean over the valid cells, of a rectangle equal those of its rows' results.
    """
    k, s, p = geometry.kernel, geometry.stride, geometry.padding
    if mode == "avg":
        columns = F.avg_pool2d(features, (k, 1), (s, 1), (p, 0), count_include_pad=False)
        return F.avg_pool2d(columns, (1, k), (1, s), (0, p), count_include_pad=False)
    if mode == "max":
        return F.max_pool2d(F.max_pool2d(features, (k, 1), (s, 1), (p, 0)), (1, k), (1, s), (0, p))
    raise ValueError(f"unknown pooling {mode!r}; choose one of {POOLS}")


def cross_layer_matrix(shallow: Tensor, deep: Tensor, geometry: PoolGeometry, mode: str = "avg") -> Tensor:
    """``(B, C_A, H_A, W_A), (B, C_B, H_B, W_B)`` -> ``(B, C_A, C_B)``."""
    pooled = pool_to(shallow, geometry, mode)
    ca, h, w = pooled.shape[1:]
    cb = deep.shape[1]
    if (h, w) != tuple(deep.shape[2:]):
        raise ValueError(
            f"pooled map is {h}x{w} but the deep tap is {deep.shape[2]}x{deep.shape[3]}: "
            f"geometry {geometry} does not align these taps"
        )
    return channel_rows(pooled) @ channel_rows(deep).transpose(1, 2) / (math.sqrt(ca * cb) * h * w)


def parse_pair(pair: Sequence[str] | str) -> tuple[str, str]:
    """``["relu1_1", "relu2_1"]`` or ``"relu1_1->relu2_1"`` -> ``("relu1_1", "relu2_1")``."""
    parts = pair.split("->") if isinstance(pair, str) else list(pair)
    if len(parts) != 2:
        raise ValueError(f"a cross-layer pair names two taps, got {pair!r}")
    return str(parts[0]).strip(), str(parts[1]).strip()


class CrossLayerLoss(StyleLoss):
    """``weight * sum_pairs w_p * mean((M_p(output) - M_p(style))^2)``.

    Args:
        pairs: ``[[shallow, deep], ...]`` or ``{"shallow->deep": weight}``.
        pool: ``"avg"`` or ``"max"``.
        weight: overall weight.
    """

    name = "crosslayer"

    def __init__(
        self,
        pairs: Sequence[Sequence[str] | str] | Mapping[str, float],
        pool: str = "avg",
        weight: float = 1.0,
    ) -> None:
        super().__init__(weight)
        if pool not in POOLS:
            raise ValueError(f"unknown pooling {pool!r}; choose one of {POOLS}")
        items = pairs.items() if isinstance(pairs, Mapping) else ((p, 1.0) for p in pairs)
        self.pairs = {parse_pair(p): float(w) for p, w in items}
        self.pool = pool
        self.geometry: dict[tuple[str, str], PoolGeometry] = {}

    @property
    def taps(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(tap for pair in self.pairs for tap in pair))

    def bind(self, encoder: VGGEncoder) -> None:
        super().bind(encoder)
        self.geometry = {pair: encoder.pooling(*pair) for pair in self.pairs}

    def term_weights(self) -> dict[str, float]:
        return {f"{a}->{b}": w for (a, b), w in self.pairs.items()}

    def statistics(self, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        if not self.geometry:
            raise RuntimeError("CrossLayerLoss is not bound to an encoder: call bind(encoder) first")
        return {
            f"{a}->{b}": cross_layer_matrix(features[a], features[b], self.geometry[(a, b)], self.pool)
            for a, b in self.pairs
        }
