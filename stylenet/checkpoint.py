"""Checkpoints: atomic writes and clear errors for checkpoints of another architecture."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch import Tensor


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write each checkpoint to a temporary file beside it, then rename: a crash never leaves half a file."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        super().save_checkpoint(checkpoint, tmp, storage_options)
        os.replace(tmp, path)


def check_architecture(expected: Mapping[str, Tensor], found: Mapping[str, Tensor], source: str) -> None:
    """Raise ``ValueError`` naming ``source`` if ``found`` does not fit the parameters ``expected``."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    reshaped = [
        f"{k}: checkpoint {tuple(found[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in found and found[k].shape != v.shape
    ]
    if missing or unexpected or reshaped:
        details = []
        if missing:
            details.append(f"missing {len(missing)} (e.g. {', '.join(missing[:3])})")
        if unexpected:
            details.append(f"unexpected {len(unexpected)} (e.g. {', '.join(unexpected[:3])})")
        if reshaped:
            details.append("different shapes: " + "; ".join(reshaped[:3]))
        raise ValueError(f"{source} was saved from another architecture: " + ", ".join(details))
