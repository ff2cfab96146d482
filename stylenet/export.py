"""Export an image -> image network to TorchScript and ONNX, check the exports, describe them in a sidecar.

Every function takes any ``nn.Module`` mapping RGB ``(B, 3, H, W)`` in [0, 1] to the same shape, not only
a network read from a checkpoint. Exports accept any batch size, height and width.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import openvino as ov
import torch
from torch import Tensor, nn

from stylenet import __version__
from stylenet.subpixel import fold_upsampling

INPUT_NAME = "image"
OUTPUT_NAME = "stylized"
INPUT_RANGE = (0.0, 1.0)
DEFAULT_TOLERANCE = 1e-4  # max abs difference from eager on [0, 1] outputs; 8-bit images quantise at 4e-3
# bf16 moves a trained net's [0, 1] outputs by 0.003-0.006 on average, and by up to ~0.2 at single pixels, on
# a real photo (bench/inference.py), so bf16 runs are checked on the mean abs difference
BF16_MEAN_TOLERANCE = 0.02
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class ExportResult:
    """Files written by :func:`export_all` and each export's max abs difference from eager."""

    torchscript: Path
    onnx: Path
    sidecar: Path
    differences: dict[str, float]


class ExportMismatchError(RuntimeError):
    """An exported model's output differs from the eager network's by more than the tolerance."""


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


def export_onnx(
    net: nn.Module,
    path: str | os.PathLike,
    opset: int = 20,
    fold: bool = True,
    names: tuple[str, str] = (INPUT_NAME, OUTPUT_NAME),
    example: Tensor | None = None,
) -> Path:
    """Export ``net`` (eval mode) to ONNX at ``path`` with dynamic batch, height and width.

    Uses the public ``torch.onnx.export`` (the ``torch.export``-based exporter); instance norms become
    ONNX ``InstanceNormalization`` nodes. Input and output ``names``: ``"image"`` ``(B, 3, H, W)`` and,
    for a transform net, ``"stylized"`` ``(B, 3, H, W)``. ``example`` is the input traced (default: images of
    sizes that are not multiples of 4, so no padding branch is frozen); its first dimension, and for
    ``(B, C, H, W)`` inputs its height and width, stay dynamic.
    With ``fold``, upsample + 3x3 convs are exported as sub-pixel convs and the 9x9 output conv runs on
    phase planes (:func:`fold_upsampling`: the same function; in ONNX Runtime ~20% faster with ~35% less
    peak memory at 1024², see ``bench/inference.py``).
    """
    if fold:
        net = fold_upsampling(net)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(2, 3, 67, 93) if example is None else example
    dims = {0: torch.export.Dim("batch")}
    if example.ndim == 4:
        dims |= {2: torch.export.Dim("height"), 3: torch.export.Dim("width")}
    logging.getLogger("torch.onnx").setLevel(logging.WARNING)
    torch.onnx.export(
        net.eval(),
        (example,),
        str(path),
        input_names=[names[0]],
        output_names=[names[1]],
        dynamic_shapes=(dims,),
        opset_version=opset,
        dynamo=True,
        external_data=False,
        verbose=False,
    )
    return path


def onnx_session(path: str | os.PathLike, threads: int | None = None, spin: bool = True) -> ort.InferenceSession:
    """ONNX Runtime CPU session for ``path`` with every graph optimisation enabled.

    Without ``spin`` its threads sleep as soon as a run ends instead of spinning for the next one: slower
    for back-to-back runs of one session, faster when other sessions or PyTorch run in between.
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session: ort.InferenceSession, images: Tensor) -> Tensor:
    """Run an exported model's session on ``(B, 3, H, W)`` float images; returns its (first) output."""
    array = np.ascontiguousarray(images.detach().cpu().float().numpy())
    output = session.run(None, {session.get_inputs()[0].name: array})[0]
    return torch.from_numpy(output)


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), as OpenVINO reports it (asked once)."""
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def resolve_precision(precision: str) -> str:
    """``"auto"`` -> ``"bf16"`` where the CPU computes it natively, else ``"fp32"``; checks explicit choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    if precision == "bf16" and not native_bf16():
        raise ValueError("bf16 needs a CPU that computes it natively (AVX512-BF16 or AMX); use --precision fp32")
    return precision


def openvino_runner(
    path: str | os.PathLike, precision: str = "fp32", threads: int | None = None
) -> Callable[[Tensor], Tensor]:
    """An ONNX model compiled by OpenVINO for the CPU at ``precision`` (``fp32`` or ``bf16``), as a function
    ``(B, 3, H, W)`` float images -> its first output. Height and width stay dynamic."""
    config: dict[str, Any] = {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": {"fp32": "f32", "bf16": "bf16"}[resolve_precision(precision)],
    }
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(str(path), "CPU", config)
    request = compiled.create_infer_request()

    def run(images: Tensor) -> Tensor:
        array = np.ascontiguousarray(images.detach().cpu().float().numpy())
        return torch.from_numpy(request.infer({0: array})[compiled.output(0)].copy())

    return run


def abs_difference(net: nn.Module, exported: Callable[[Tensor], Tensor], image: Tensor) -> Tensor:
    """``|exported(image) - net(image)|`` for the eager ``net`` on ``(B, 3, H, W)``."""
    with torch.inference_mode():
        expected = net.eval()(image)
        found = exported(image)
    if found.shape != expected.shape:
        raise ExportMismatchError(f"exported output shape {tuple(found.shape)} != eager {tuple(expected.shape)}")
    return (found.float().cpu() - expected.float().cpu()).abs()


def max_abs_difference(net: nn.Module, exported: Callable[[Tensor], Tensor], image: Tensor) -> float:
    """Max abs difference between ``exported(image)`` and the eager ``net(image)`` on ``(B, 3, H, W)``."""
    return float(abs_difference(net, exported, image).max())


def check_export(
    name: str,
    net: nn.Module,
    exported: Callable[[Tensor], Tensor],
    image: Tensor,
    tolerance: float = DEFAULT_TOLERANCE,
    statistic: str = "max",
) -> float:
    """Raise :class:`ExportMismatchError` if ``exported`` differs from ``net`` on ``image`` by more than ``tolerance``.

    Compares the ``"max"`` (or ``"mean"``) abs difference, and returns it.
    """
    differences = abs_difference(net, exported, image)
    difference = float(differences.max() if statistic == "max" else differences.mean())
    if not difference <= tolerance:  # also catches NaN
        raise ExportMismatchError(
            f"{name}: {statistic} abs difference from eager {difference:.3g} exceeds the tolerance {tolerance:.3g} "
            f"on a {tuple(image.shape)} image"
        )
    return difference


def sidecar(metadata: dict[str, Any], files: dict[str, str], checks: dict[str, float]) -> dict[str, Any]:
    """The JSON description shipped beside exported models.

    ``metadata`` is ``checkpoint["stylenet"]`` (run config, style, version of the training code) or any
    dict describing the network; ``files`` maps format -> file name; ``checks`` format -> max abs difference.
    """
    style = metadata.get("style") or {}
    return {
        "stylenet_version": __version__,
        "trained_with_version": metadata.get("version"),
        "style": {"image": style.get("image"), "sha256": style.get("sha256"), "size": style.get("size")},
        "input": {"layout": "NCHW", "channels": "RGB", "range": list(INPUT_RANGE), "dtype": "float32"},
        "output": {"layout": "NCHW", "channels": "RGB", "range": list(INPUT_RANGE), "dtype": "float32"},
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
    :class:`ExportMismatchError` if an export differs from eager by more than ``tolerance``.
    """
    stem = Path(stem)
    net = net.eval()
    torchscript = export_torchscript(net, stem.with_suffix(".pt"))
    onnx_path = export_onnx(net, stem.with_suffix(".onnx"))
    scripted = torch.jit.load(str(torchscript), map_location="cpu")
    session = onnx_session(onnx_path)
    differences = {
        "torchscript": check_export("TorchScript", net, scripted, check_image, tolerance),
        "onnx": check_export("ONNX Runtime", net, lambda images: run_onnx(session, images), check_image, tolerance),
    }
    files = {"torchscript": torchscript.name, "onnx": onnx_path.name}
    description = write_sidecar(stem.with_suffix(".json"), sidecar(metadata or {}, files, differences))
    return ExportResult(torchscript, onnx_path, description, differences)
