"""Load a stylisation model from any shipped format and stylise image tensors with it.

A model file is a Lightning checkpoint (any other suffix), TorchScript (``.pt``, ``.ts``) or ONNX
(``.onnx``). A meta-network checkpoint also needs style images: it runs as the plain transform net it
generates for them (blended by weights). A checkpoint can run on four backends: ``eager`` PyTorch, ``torchscript``,
``onnxruntime`` or ``openvino``. The last two run an ONNX export of the network, written once to a cache folder
keyed by the checkpoint's (and styles') hash. ``auto`` picks eager PyTorch on CUDA; on a CPU, OpenVINO in bf16
where the CPU computes bf16 natively (about twice as fast; outputs 0.003-0.006 from fp32 on average) and ONNX Runtime in
fp32 elsewhere, the fastest paths in ``bench/inference.py``; ``precision="fp32"`` keeps fp32 everywhere.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from stylenet import __version__
from stylenet.checkpoint import load_transform_net
from stylenet.color import blend, preserve_color
from stylenet.export import (
    BF16_MEAN_TOLERANCE,
    DEFAULT_TOLERANCE,
    check_export,
    export_onnx,
    onnx_session,
    openvino_runner,
    resolve_precision,
    run_onnx,
)
from stylenet.metanet.inference import bake_styles
from stylenet.system import file_sha256
from stylenet.tiling import stylize_tiled

BACKENDS = ("auto", "eager", "torchscript", "onnxruntime", "openvino")
TORCHSCRIPT_SUFFIXES = (".pt", ".ts")
ONNX_SUFFIXES = (".onnx",)


def default_cache_dir() -> Path:
    """``$STYLENET_CACHE``, else ``~/.cache/stylenet``."""
    return Path(os.environ.get("STYLENET_CACHE", Path.home() / ".cache" / "stylenet"))


@dataclass
class Model:
    """A loaded model: ``run`` maps ``(B, 3, H, W)`` in [0, 1] on ``device`` to the same shape.

    ``net`` is the eager network when the model came from a checkpoint (tiling needs it), else None.
    ``precision`` is the arithmetic ``run`` computes in: ``fp32`` or ``bf16``.
    """

    run: Callable[[Tensor], Tensor]
    backend: str
    device: torch.device
    net: nn.Module | None = None
    precision: str = "fp32"


def cached_onnx(source: str, key: str, net: nn.Module, cache_dir: Path) -> Path:
    """ONNX export of ``net`` (built from ``source``), written once per ``key`` and versions.

    A fresh export is checked against eager before it is cached.
    """
    key = f"{key[:20]}-stylenet{__version__}-torch{torch.__version__.split('+')[0]}"
    path = cache_dir / f"{key}.onnx"
    if path.is_file():
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        export_onnx(net, tmp)
        session = onnx_session(tmp)
        check_export(f"ONNX export of {source}", net, lambda x: run_onnx(session, x), torch.rand(1, 3, 67, 93))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_network(
    checkpoint: Path, styles: Sequence[str | os.PathLike] = (), style_weights: Sequence[float] | None = None
) -> tuple[nn.Module, str]:
    """The eager network of a checkpoint (for a meta network: the one generated for ``styles``) and a
    hash identifying it."""
    if not styles:
        net, _ = load_transform_net(checkpoint)
        return net, file_sha256(checkpoint)
    net, metadata = bake_styles(checkpoint, styles, style_weights)
    style = metadata["style"]
    key = hashlib.sha256(f"{file_sha256(checkpoint)} {style['sha256']} {style['weights']}".encode()).hexdigest()
    return net, key


def _onnx_model(path: Path, device: torch.device) -> Callable[[Tensor], Tensor]:
    if device.type != "cpu":
        raise ValueError(f"{path}: ONNX models run on the CPU here; use a checkpoint or TorchScript for {device}")
    session = onnx_session(path)
    return lambda images: run_onnx(session, images)


def load_model(
    path: str | os.PathLike,
    device: str | torch.device = "cpu",
    backend: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    styles: Sequence[str | os.PathLike] = (),
    style_weights: Sequence[float] | None = None,
    precision: str = "auto",
) -> Model:
    """Load ``path`` (checkpoint, TorchScript or ONNX) to run on ``device`` with ``backend`` (see :data:`BACKENDS`).

    TorchScript and ONNX files run on their own runtime (``backend`` must be ``auto`` or match).
    ``styles`` (with optional blend ``style_weights``) are required by, and only taken by, meta-network
    checkpoints. ``precision`` (``auto``, ``fp32``, ``bf16``) is OpenVINO's; every other backend runs fp32.
    """
    path, device = Path(path), torch.device(device)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if not path.is_file():
        raise FileNotFoundError(f"model not found: {path}")
    suffix = path.suffix.lower()
    fixed = {**dict.fromkeys(TORCHSCRIPT_SUFFIXES, "torchscript"), **dict.fromkeys(ONNX_SUFFIXES, "onnxruntime")}
    if precision == "bf16" and (backend not in ("auto", "openvino") or device.type != "cpu" or suffix in fixed):
        raise ValueError("bf16 runs a checkpoint on the openvino backend on a CPU; everything else runs fp32")
    if suffix in fixed:
        if styles:
            raise ValueError(f"{path} is a {fixed[suffix]} model with its style built in; --style needs a checkpoint")
        if backend not in ("auto", fixed[suffix]):
            raise ValueError(f"{path} is a {fixed[suffix]} model; it cannot run with backend {backend!r}")
        if fixed[suffix] == "onnxruntime":
            return Model(_onnx_model(path, device), "onnxruntime", device)
        scripted = torch.jit.load(str(path), map_location=device).eval()
        return Model(scripted, "torchscript", device)
    net, key = load_network(path, styles, style_weights)
    net = net.to(device)
    if device.type != "cpu" and backend in ("onnxruntime", "openvino"):
        raise ValueError(f"the {backend} backend runs on the CPU here; use eager or torchscript for {device}")
    if backend == "auto" and device.type != "cpu":
        backend = "eager"
    elif backend == "auto":
        backend = "openvino" if resolve_precision(precision) == "bf16" else "onnxruntime"
    if backend == "eager":
        return Model(net, backend, device, net)
    if backend == "torchscript":
        return Model(torch.jit.script(net), backend, device, net)
    onnx_path = cached_onnx(str(path), key, net.cpu(), Path(cache_dir) if cache_dir else default_cache_dir())
    if backend == "onnxruntime":
        return Model(_onnx_model(onnx_path, device), backend, device, net)
    precision = resolve_precision(precision)
    run = openvino_runner(onnx_path, precision)
    check = {"bf16": (BF16_MEAN_TOLERANCE, "mean"), "fp32": (DEFAULT_TOLERANCE, "max")}[precision]
    check_export(f"OpenVINO {precision} run of {path}", net, run, torch.rand(1, 3, 67, 93), *check)
    return Model(run, backend, device, net, precision)


@dataclass(frozen=True)
class StyleOptions:
    """How to stylise: ``strength`` in [0, 1] blends content (0) and stylised output (1);
    ``preserve_color`` keeps the content's chroma; ``tile`` (pixels, None for whole images) and
    ``overlap`` tile large images; ``stats_size`` is the longest side of the instance-norm statistics pass.
    """

    strength: float = 1.0
    preserve_color: bool = False
    tile: int | None = None
    overlap: int = 64
    stats_size: int = 1024


@torch.inference_mode()
def stylize(model: Model, images: Tensor, options: StyleOptions = StyleOptions()) -> Tensor:
    """Stylise ``(B, 3, H, W)`` images in [0, 1] (on any device); returns ``(B, 3, H, W)`` on the images' device."""
    content = images.to(model.device)
    if options.tile is not None and max(content.shape[-2:]) > options.tile:
        if model.net is None:
            raise ValueError(
                f"tiling needs the eager network to fix instance-norm statistics; pass a checkpoint, "
                f"not a {model.backend} model"
            )
        stylized = torch.cat(
            [
                stylize_tiled(model.net, image[None], options.tile, options.overlap, options.stats_size)
                for image in content
            ]
        )
    else:
        stylized = model.run(content).to(model.device)
    if options.preserve_color:
        stylized = preserve_color(content, stylized)
    return blend(content, stylized, options.strength).to(images.device)
