"""The checkpoint format: what a stylenet checkpoint records, and :func:`load`, the one reader.

A checkpoint is a Lightning checkpoint whose ``state_dict`` holds the trained network's weights
(``net.*``; frozen encoders are not saved) and whose ``checkpoint["stylenet"]`` entry describes it::

    {"format": 2, "kind": "stylizer" | "metanet" | "super_resolver", "version": "0.1.0",
     "network": {"name": "transform_net", "args": {"channels": 32, ...}},   # stylenet.models.get_model
     "config": {...},                                                         # the resolved run config
     "style": {...} (stylizer)
     | "metanet": {"arch", "weights", "taps", "embedding_size", "style_size", "content_size"}
     | "super_resolution": {"factor", "degradation", "blur_sigma"} (super_resolver)}

The network is rebuilt from its registered name and plain arguments, never from an import path, so
renaming a module breaks no checkpoint. Checkpoints written before the format had a number (format 1:
a Hydra ``_target_`` in ``config.model``) are read too.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from stylenet import __version__
from stylenet.models.registry import get_model, model_spec

FORMAT = 2
# kind -> how messages name it
KINDS = {"stylizer": "single-style", "metanet": "meta-network", "super_resolver": "super-resolution"}
# format 1 recorded the network as a Hydra target; the class each target named, by registered name
LEGACY_TARGETS = {
    "stylenet.models.TransformNet": "transform_net",
    "stylenet.models.transform_net.TransformNet": "transform_net",
    "stylenet.models.metanet.MetaTransformNet": "meta_transform_net",
}


@dataclass
class Checkpoint:
    """A loaded checkpoint: its ``kind``, the trained ``network`` (eval mode, on the requested device),
    its ``metadata`` (``checkpoint["stylenet"]`` in the current format) and the file's ``sha256``."""

    path: Path
    kind: str
    network: nn.Module
    metadata: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def describe(kind: str, net: nn.Module, config: Mapping[str, Any], **entries: Any) -> dict[str, Any]:
    """``checkpoint["stylenet"]`` for a ``kind`` of product training the registered network ``net``;
    ``entries`` are the kind's own (``style=...`` or ``metanet=...``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; choose one of {tuple(KINDS)}")
    return {
        "format": FORMAT,
        "kind": kind,
        "version": __version__,
        "network": model_spec(net),
        "config": dict(config),
        **entries,
    }


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


def upgrade(metadata: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``checkpoint["stylenet"]`` of any format in the current one; ``ValueError`` naming ``source`` if
    it is not a stylenet description."""
    metadata = dict(metadata)
    if metadata.get("format") == FORMAT:
        return metadata
    if "format" in metadata:
        raise ValueError(f"{source} has checkpoint format {metadata['format']}; this stylenet reads format {FORMAT}")
    config = metadata.get("config") or {}
    model = dict(config.get("model") or {})
    target = model.pop("_target_", None)
    if target not in LEGACY_TARGETS:
        raise ValueError(f"{source} is not a stylenet checkpoint (no stylenet network description)")
    metadata.update(format=FORMAT, network={"name": LEGACY_TARGETS[target], "args": model})
    if "metanet" in metadata:
        metadata["kind"] = "metanet"
        style_size = (config.get("data") or {}).get("style", {}).get("image_size")
        weights = (config.get("backbone") or {}).get("weights")
        metadata["metanet"] = {"weights": weights, "style_size": style_size, **metadata["metanet"]}
    else:
        metadata["kind"] = "stylizer"
    return metadata


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu", kind: str | None = None) -> Checkpoint:
    """Read a stylenet checkpoint (of ``kind`` if given, else any) and rebuild its network with the trained weights.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming ``path`` for a file that
    is not a PyTorch checkpoint, not a stylenet one, of another kind, or whose weights belong to another
    architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    data = path.read_bytes()
    try:
        checkpoint = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as error:  # any failure to unpickle: not a checkpoint
        raise ValueError(f"{path} is not a PyTorch checkpoint: {str(error).splitlines()[0][:200]}") from error
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("stylenet"), Mapping):
        raise ValueError(f"{path} is not a stylenet checkpoint (no stylenet entry)")
    if "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not a stylenet checkpoint (no weights)")
    metadata = upgrade(checkpoint["stylenet"], str(path))
    if kind is not None and metadata["kind"] != kind:
        found = KINDS.get(metadata["kind"], metadata["kind"])
        raise ValueError(f"{path} is not a {KINDS[kind]} checkpoint (it is a {found} one)")
    spec = metadata["network"]
    try:
        network = get_model(spec["name"], **spec["args"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: cannot build the network {spec}: {error}") from error
    weights = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    check_architecture(network.state_dict(), weights, f"{path} (network {spec})")
    network.load_state_dict(weights)
    network = network.to(map_location).eval()
    return Checkpoint(path, metadata["kind"], network, metadata, hashlib.sha256(data).hexdigest())


def save_weights_only(loaded: Checkpoint, target: str | os.PathLike, dtype: torch.dtype = torch.float16) -> Path:
    """Write a loaded checkpoint's network weights cast to ``dtype`` with its description, and nothing for
    resuming (no optimizer, loop or callback state): a small checkpoint to ship, which :func:`load` reads."""
    weights = {f"net.{k}": v.to(dtype) if v.is_floating_point() else v for k, v in loaded.network.state_dict().items()}
    return atomic_save({"state_dict": weights, "stylenet": loaded.metadata}, target)


def atomic_save(checkpoint: Mapping[str, Any], path: str | os.PathLike, save=torch.save) -> Path:
    """Write with ``save(checkpoint, tmp)`` to a temporary file beside ``path``, then rename: a crash
    never leaves half a file under ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        save(checkpoint, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
