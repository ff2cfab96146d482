"""Hydra/OmegaConf helpers and the data root shared by the entry points."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf


def shared_dir() -> Path:
    """Root of the weights and images: ``$STYLENET_SHARED``, else ``../shared`` (as ``conf/paths/default.yaml``)."""
    return Path(os.environ.get("STYLENET_SHARED", "../shared"))


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
