"""Hydra/OmegaConf helpers shared by the entry points."""

from __future__ import annotations

from omegaconf import OmegaConf


def _mul(*values: float) -> float:
    result = 1.0
    for value in values:
        result *= float(value)
    return result


def register_resolvers() -> None:
    """``${mul:a,b}``: product of numbers (loss weights times the backbone's scale)."""
    if not OmegaConf.has_resolver("mul"):
        OmegaConf.register_new_resolver("mul", _mul)


register_resolvers()
