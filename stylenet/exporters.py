"""Write an image -> image network as shipped files: TorchScript, ONNX and a JSON sidecar, each checked.

Every function takes any ``nn.Module`` mapping RGB ``(B, 3, H, W)`` in [0, 1] to the same shape, not only
a network read from a checkpoint. Exports accept any batch size, height and width. The conversion to
ONNX, the sessions and the checks against eager are :mod:`stylenet.runtimes`'.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from stylenet import __version__
from stylenet.runtimes import (
    DEFAULT_TOLERANCE,
    INPUT_NAME,
    OUTPUT_NAME,
    check_against_eager,
    onnx_file_runner,
    to_onnx,
)

INPUT_RANGE = (0.0, 1.0)


@dataclass(frozen=True)
class ExportResult:
    """Files written by :func:`export_all` and each export's max abs difference from eager."""

    torchscript: Path
    onnx: Path
    sidecar: Path
    differences: dict[str, float]


def export_torchscript(net: nn.Module, path: str | os.PathLike) -> Path:
    """Script ``net`` (eval mode) and save it to ``path``.

    Scripting rather than tracing keeps the shape-dependent code (padding to a multiple of 4 and
    cropping back) working for every input size; a trace would freeze the example's sizes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        scripted = torch.jit.script(net.eval())
    except Exception as error:  # the scripting compiler raises many kinds; all mean "not scriptable"
        raise ValueError(f"cannot convert {type(net).__name__} to TorchScript: {error}") from error
    scripted.save(str(path))
    return path


@torch.no_grad()
def network_scale(net: nn.Module) -> int:
    """How many times larger than its input the image network's output is (1 for stylisation)."""
    return net.eval()(torch.zeros(1, 3, 16, 16)).shape[-1] // 16


def sidecar(
    metadata: dict[str, Any], files: dict[str, str], checks: dict[str, float], scale: int = 1
) -> dict[str, Any]:
    """The JSON description shipped beside exported models.

    ``metadata`` is a checkpoint's description (run config, style, version of the training code) or any
    dict describing the network; ``files`` maps format -> file name; ``checks`` format -> max abs difference;
    ``scale`` is the output's size over the input's.
    """
    style = metadata.get("style") or {}
    return {
        "stylenet_version": __version__,
        "trained_with_version": metadata.get("version"),
        "kind": metadata.get("kind"),
        "style": {"image": style.get("image"), "sha256": style.get("sha256"), "size": style.get("size")},
        "input": {"layout": "NCHW", "channels": "RGB", "range": list(INPUT_RANGE), "dtype": "float32"},
        "output": {"layout": "NCHW", "channels": "RGB", "range": list(INPUT_RANGE), "dtype": "float32", "scale": scale},
        "onnx": {"input_name": INPUT_NAME, "output_name": OUTPUT_NAME, "dynamic_axes": ["batch", "height", "width"]},
        "files": files,
        "max_abs_difference_from_eager": checks,
        "config": metadata.get("config"),
    }


def write_sidecar(path: str | os.PathLike, description: dict[str, Any]) -> Path:
    """Write ``description`` (see :func:`sidecar`) as indented JSON to ``path``."""
    path = Path(path)
    path.write_text(json.dumps(description, indent=2, default=str) + "\n")
    return path


def export_all(
    net: nn.Module,
    stem: str | os.PathLike,
    check_image: Tensor,
    metadata: dict[str, Any] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> ExportResult:
    """Write ``<stem>.pt`` (TorchScript), ``<stem>.onnx`` and ``<stem>.json`` for ``net``; check both exports.

    ``check_image`` is a real ``(1, 3, H, W)`` image in [0, 1]; odd ``H, W`` exercise the padding. Raises
    :class:`~stylenet.runtimes.ExportMismatchError` if an export differs from eager by more than ``tolerance``.
    """
    stem = Path(stem)
    net = net.eval()
    torchscript = export_torchscript(net, stem.with_suffix(".pt"))
    onnx_path = to_onnx(net, stem.with_suffix(".onnx"))
    scripted = torch.jit.load(str(torchscript), map_location="cpu")
    differences = {
        "torchscript": check_against_eager("TorchScript", net, scripted, check_image, tolerance),
        "onnx": check_against_eager("ONNX Runtime", net, onnx_file_runner(onnx_path), check_image, tolerance),
    }
    files = {"torchscript": torchscript.name, "onnx": onnx_path.name}
    description = sidecar(metadata or {}, files, differences, network_scale(net))
    description = write_sidecar(stem.with_suffix(".json"), description)
    return ExportResult(torchscript, onnx_path, description, differences)
