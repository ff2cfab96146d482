"""Common shape of the feature losses: named taps, a weight, named weighted terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from stylenet.vgg import VGGEncoder


def as_weights(layers: Mapping[str, float] | Sequence[str]) -> dict[str, float]:
    """``{tap: weight}`` from a mapping, or from a list of taps weighted 1 each."""
    if isinstance(layers, str):
        raise TypeError(f"layers must be a list or a mapping of taps, got the string {layers!r}")
    if isinstance(layers, Mapping):
        return {str(k): float(v) for k, v in layers.items()}
    return {str(tap): 1.0 for tap in layers}


class FeatureLoss(nn.Module):
    """A loss on encoder features; ``forward`` returns ``{term name: weighted scalar}``."""

    name = "loss"

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    @property
    def taps(self) -> tuple[str, ...]:
        """Encoder taps this loss reads."""
        raise NotImplementedError

    def bind(self, encoder: VGGEncoder) -> None:
        """Check the taps against ``encoder`` (and derive anything that depends on its layers)."""
        encoder.check_taps(self.taps)


class StyleLoss(FeatureLoss):
    """A loss against statistics of a style image, held as non-persistent buffers.

    Subclasses implement :meth:`statistics` (features -> ``{key: (B, ...)}``); targets may have batch 1
    (one style for the whole batch) or the input's batch size (one style per sample). A ``relative`` loss divides
    each term by the mean square of its target (per sample), so that every layer counts by its relative error
    whatever the scale of its statistics (the Gram entries of relu1 are ~100x those of relu4).
    """

    relative = False

    def statistics(self, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        raise NotImplementedError

    def set_target(self, features: Mapping[str, Tensor]) -> None:
        self.set_statistics(self.statistics(features))

    def set_statistics(self, statistics: Mapping[str, Tensor]) -> None:
        """Use ``statistics`` (``{key: (1 or B, ...)}``, e.g. a blend of several styles') as the target."""
        for key, value in statistics.items():
            self.register_buffer(self._buffer(key), value.detach(), persistent=False)

    def target(self, key: str) -> Tensor:
        buffer = getattr(self, self._buffer(key), None)
        if buffer is None:
            raise RuntimeError(f"{type(self).__name__} has no style target: call set_style() first")
        return buffer

    @staticmethod
    def _buffer(key: str) -> str:
        return "target_" + key.replace(".", "_").replace("->", "__")

    def term_weights(self) -> dict[str, float]:
        raise NotImplementedError

    def forward(self, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        weights, terms = self.term_weights(), {}
        for key, value in self.statistics(features).items():
            target = self.target(key)
            error = (value - target).pow(2).flatten(1).mean(1)
            if self.relative:
                error = error / target.pow(2).flatten(1).mean(1)
            terms[f"{self.name}/{key}"] = self.weight * weights[key] * error.mean()
        return terms


class TapStyleLoss(StyleLoss):
    """A style loss on one statistic of each tap: ``weight * sum_l w_l * mean((s(F_l(output)) - s(F_l(style)))^2)``.

    Subclasses implement :meth:`statistic` (``(B, C, H, W)`` -> ``(B, ...)``).

    Args:
        layers: taps, as a list or ``{tap: weight}``.
        weight: overall weight.
        relative: divide each tap's term by ``mean(s(F_l(style))^2)`` (see :class:`StyleLoss`).
    """

    def __init__(
        self, layers: Mapping[str, float] | Sequence[str], weight: float = 1.0, relative: bool = False
    ) -> None:
        super().__init__(weight)
        self.layers = as_weights(layers)
        self.relative = relative

    @property
    def taps(self) -> tuple[str, ...]:
        return tuple(self.layers)

    def term_weights(self) -> dict[str, float]:
        return self.layers

    def statistic(self, features: Tensor) -> Tensor:
        raise NotImplementedError

    def statistics(self, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return {tap: self.statistic(features[tap]) for tap in self.layers}
