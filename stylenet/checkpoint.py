"""Checkpoints: atomic writes, clear errors for checkpoints of another architecture, loading the network."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch import Tensor, nn


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


def read_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The network weights (``net.*``, prefix removed) and ``checkpoint["stylenet"]`` of a stylenet checkpoint.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming ``path`` for a file that is not
    a stylenet checkpoint (no model config and weights).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # any failure to unpickle: not a checkpoint
        raise ValueError(f"{path} is not a PyTorch checkpoint: {error}") from error
    metadata = checkpoint.get("stylenet") if isinstance(checkpoint, Mapping) else None
    if not (metadata or {}).get("config", {}).get("model") or "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not a stylenet checkpoint (no stylenet model config and weights)")
    weights = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    return weights, dict(metadata)


def load_transform_net(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the image network of a :class:`~stylenet.system.Stylizer` checkpoint, in eval mode.

    The network is instantiated from ``checkpoint["stylenet"]["config"]["model"]`` and loaded from the
    ``net.*`` weights. Returns ``(net, checkpoint["stylenet"])``: the metadata holds the resolved run
    config, the style image's name and hash and the stylenet version.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming ``path`` for a file that
    is not a stylenet checkpoint, is a meta-network checkpoint, or whose weights belong to another
    architecture.
    """
    weights, metadata = read_checkpoint(path, map_location)
    if "metanet" in metadata:
        raise ValueError(f"{path} is a meta-network checkpoint: give it style images (--style) to generate a net")
    model_config = metadata["config"]["model"]
    try:
        net = instantiate(model_config)
    except Exception as error:  # Hydra wraps any constructor failure
        raise ValueError(f"{path}: cannot build the model {dict(model_config)}: {error}") from error
    check_architecture(net.state_dict(), weights, f"{path} (model {dict(model_config)})")
    net.load_state_dict(weights)
    return net.eval(), metadata
