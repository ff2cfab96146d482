"""Load an image network from any shipped format and stylise image tensors with it.

A model file is a stylenet checkpoint (any suffix but those below), TorchScript (``.pt``, ``.ts``) or ONNX
(``.onnx``). A meta-network checkpoint also needs style images: it runs as the plain transform net it
generates for them (blended by weights). A checkpoint can run on four backends: ``eager`` PyTorch,
``torchscript``, ``onnxruntime`` or ``openvino``; the last two run a conversion of the network cached by the
checkpoint's (and styles') hash (:mod:`stylenet.runtimes`). ``auto`` picks eager PyTorch on CUDA; on a CPU,
OpenVINO in bf16 where the CPU computes bf16 natively (about twice as fast; outputs 0.003-0.006 from fp32 on
average) and ONNX Runtime in fp32 elsewhere, the fastest paths in ``bench/inference.py``;
``precision="fp32"`` keeps fp32 everywhere.

    model = load_model("starry.ckpt")                   # or .onnx / .pt, or a meta network with styles=[...]
    out = stylize(model, images, StyleOptions(strength=0.8))
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylenet import checkpoint as checkpoints
from stylenet import runtimes
from stylenet.checkpoint import Checkpoint, file_sha256
from stylenet.color import blend, preserve_color
from stylenet.imageio import load_image
from stylenet.models import ArbitraryStyleNet, StyleEmbedding, TransformNet
from stylenet.tiling import stylize_tiled
from stylenet.vgg import VGGEncoder

BACKENDS = ("auto", "eager", "torchscript", "onnxruntime", "openvino")
TORCHSCRIPT_SUFFIXES = (".pt", ".ts")
ONNX_SUFFIXES = (".onnx",)
MODEL_FILE_BACKENDS = {
    **dict.fromkeys(TORCHSCRIPT_SUFFIXES, "torchscript"),
    **dict.fromkeys(ONNX_SUFFIXES, "onnxruntime"),
}
StyleFiles = Sequence[str | os.PathLike]


@dataclass
class Model:
    """A loaded model: ``run`` maps ``(B, 3, H, W)`` in [0, 1] on ``device`` to the same shape.

    ``net`` is the eager network when the model came from a checkpoint (tiling needs it), else None.
    ``precision`` is the arithmetic ``run`` computes in: ``fp32`` or ``bf16``. ``trained_size`` is the shorter
    side of the photos it was trained on where its checkpoint records one (a meta network's; see
    :attr:`StyleOptions.working_size`).
    """

    run: Callable[[Tensor], Tensor]
    backend: str
    device: torch.device
    net: nn.Module | None = None
    precision: str = "fp32"
    trained_size: int | None = None


def arbitrary_style_net(loaded: Checkpoint, vgg_weights: str | os.PathLike | None = None) -> ArbitraryStyleNet:
    """The :class:`ArbitraryStyleNet` of a loaded meta-network checkpoint (eval mode, on its device).

    ``vgg_weights`` (a file or a torchvision weights-enum name) replaces the VGG weights the checkpoint
    records, e.g. when it was trained on another machine.
    """
    if loaded.kind != "metanet":
        raise ValueError(f"{loaded.path} is not a meta-network checkpoint (kind {loaded.kind!r})")
    info = loaded.metadata["metanet"]
    encoder = VGGEncoder(info["arch"], vgg_weights or info["weights"])
    embedding = StyleEmbedding(encoder, info["taps"], info.get("embedding_size"))
    device = next(loaded.network.parameters()).device
    return ArbitraryStyleNet(embedding, loaded.network, info.get("style_size"), loaded.metadata).to(device).eval()


def load_metanet(
    path: str | os.PathLike, vgg_weights: str | os.PathLike | None = None, map_location: str | torch.device = "cpu"
) -> ArbitraryStyleNet:
    """An :class:`ArbitraryStyleNet` (eval mode) from a meta-network checkpoint file (:func:`arbitrary_style_net`)."""
    return arbitrary_style_net(checkpoints.load(path, map_location, kind="metanet"), vgg_weights)


def baked_styles(
    loaded: Checkpoint,
    styles: Sequence[str | os.PathLike],
    weights: Sequence[float] | None = None,
    vgg_weights: str | os.PathLike | None = None,
) -> tuple[TransformNet, dict[str, Any]]:
    """The plain transform net a loaded meta-network checkpoint generates for style image files (blended by
    ``weights``), and metadata like a single-style checkpoint's: run config, version, and the styles'
    names, hashes and weights."""
    model = arbitrary_style_net(loaded, vgg_weights)
    paths = [Path(style) for style in styles]
    code = model.style_code([load_image(path, model.style_size) for path in paths], weights)
    style = {
        "image": " + ".join(path.name for path in paths),
        "sha256": [file_sha256(path) for path in paths],
        "weights": list(weights) if weights is not None else [1.0] * len(paths),
        "size": model.style_size,
    }
    return model.bake(code), {**model.metadata, "style": style}


def bake_styles(
    path: str | os.PathLike,
    styles: Sequence[str | os.PathLike],
    weights: Sequence[float] | None = None,
    vgg_weights: str | os.PathLike | None = None,
) -> tuple[TransformNet, dict[str, Any]]:
    """:func:`baked_styles` of a meta-network checkpoint file."""
    return baked_styles(checkpoints.load(path, kind="metanet"), styles, weights, vgg_weights)


def metanet_network(
    loaded: Checkpoint, styles: StyleFiles, style_weights: Sequence[float] | None
) -> tuple[nn.Module, dict[str, Any], str]:
    """The transform net a meta-network checkpoint generates for ``styles``, keyed by checkpoint and styles."""
    if not styles:
        raise ValueError(
            f"{loaded.path} is a meta-network checkpoint: give it style images (--style) to generate a net"
        )
    net, metadata = baked_styles(loaded, styles, style_weights)
    style = metadata["style"]
    key = hashlib.sha256(f"{loaded.sha256} {style['sha256']} {style['weights']}".encode()).hexdigest()
    return net, metadata, key


def plain_network(
    loaded: Checkpoint, styles: StyleFiles, _style_weights: Sequence[float] | None
) -> tuple[nn.Module, dict[str, Any], str]:
    """A checkpoint's network as it is (a single-style or super-resolution one); it takes no style images."""
    if styles:
        raise ValueError(f"{loaded.path} is not a meta-network checkpoint: it takes no style images (--style)")
    return loaded.network, loaded.metadata, loaded.sha256


# checkpoint kind -> (checkpoint, style files, blend weights) -> (image -> image net, metadata, cache key)
IMAGE_NETWORKS: dict[str, Callable[..., tuple[nn.Module, dict[str, Any], str]]] = {
    "stylizer": plain_network,
    "metanet": metanet_network,
    "super_resolver": plain_network,
}
STYLE_KINDS = ("stylizer", "metanet")  # the kinds that stylise (load_model, stylize)


def image_network(
    path: str | os.PathLike,
    styles: Sequence[str | os.PathLike] = (),
    style_weights: Sequence[float] | None = None,
    kinds: Sequence[str] = tuple(IMAGE_NETWORKS),
) -> tuple[nn.Module, dict[str, Any], str]:
    """The eager image -> image network of a checkpoint of one of ``kinds`` (for a meta network: the one
    generated for ``styles``), its metadata, and a hash identifying it; a one-line ``ValueError`` naming
    ``path`` for a checkpoint of another kind."""
    return loaded_image_network(checkpoints.load(path), styles, style_weights, kinds)


def loaded_image_network(
    loaded: Checkpoint,
    styles: Sequence[str | os.PathLike] = (),
    style_weights: Sequence[float] | None = None,
    kinds: Sequence[str] = tuple(IMAGE_NETWORKS),
) -> tuple[nn.Module, dict[str, Any], str]:
    """:func:`image_network` of a checkpoint already loaded."""
    if loaded.kind not in kinds:
        wanted = " or ".join(checkpoints.KINDS[kind] for kind in kinds)
        raise ValueError(f"{loaded.path} is a {checkpoints.KINDS[loaded.kind]} checkpoint; this needs a {wanted} one")
    return IMAGE_NETWORKS[loaded.kind](loaded, styles, style_weights)


def _model_file(path: Path, device: torch.device, backend: str, styles: Sequence[str | os.PathLike]) -> Model:
    runtime = MODEL_FILE_BACKENDS[path.suffix.lower()]
    if styles:
        raise ValueError(f"{path} is a {runtime} model with its style built in; --style needs a checkpoint")
    if backend not in ("auto", runtime):
        raise ValueError(f"{path} is a {runtime} model; it cannot run with backend {backend!r}")
    if runtime == "torchscript":
        return Model(runtimes.torchscript_module(path, device), runtime, device)
    if device.type != "cpu":
        raise ValueError(f"{path}: ONNX models run on the CPU here; use a checkpoint or TorchScript for {device}")
    return Model(runtimes.onnx_file_runner(path), runtime, device)


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
    Raises ``FileNotFoundError`` or a one-line ``ValueError`` naming ``path`` for a file that cannot run.
    """
    path, device = Path(path), torch.device(device)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if not path.is_file():
        raise FileNotFoundError(f"model not found: {path}")
    is_file_model = path.suffix.lower() in MODEL_FILE_BACKENDS
    if precision == "bf16" and (backend not in ("auto", "openvino") or device.type != "cpu" or is_file_model):
        raise ValueError("bf16 runs a checkpoint on the openvino backend on a CPU; everything else runs fp32")
    if is_file_model:
        return _model_file(path, device, backend, styles)
    if device.type != "cpu" and backend in runtimes.RUNTIMES:
        raise ValueError(f"the {backend} backend runs on the CPU here; use eager or torchscript for {device}")
    net, metadata, key = image_network(path, styles, style_weights, STYLE_KINDS)
    model = runnable(net, key, str(path), device, backend, precision, cache_dir)
    model.trained_size = trained_size(metadata)
    return model


def trained_size(metadata: dict[str, Any]) -> int | None:
    """The shorter side of the photos a checkpoint's network was trained on, where it records one (meta networks
    since they record ``content_size``)."""
    return (metadata.get("metanet") or {}).get("content_size")


def runnable(
    net: nn.Module,
    key: str,
    source: str,
    device: str | torch.device = "cpu",
    backend: str = "auto",
    precision: str = "auto",
    cache_dir: str | os.PathLike | None = None,
) -> Model:
    """The eager image network ``net`` (from ``source``, identified by ``key``) as a :class:`Model` run by
    ``backend`` on ``device`` (see :func:`load_model`)."""
    device = torch.device(device)
    net = net.to(device)
    if backend == "auto" and device.type != "cpu":
        backend = "eager"
    if backend == "eager":
        return Model(net, backend, device, net)
    if backend == "torchscript":
        return Model(torch.jit.script(net), backend, device, net)
    cache = Path(cache_dir) if cache_dir else None
    run, backend, precision = runtimes.runtime_runner(source, key, net, backend, precision, cache)
    return Model(run, backend, device, net, precision)


@dataclass(frozen=True)
class StyleOptions:
    """How to stylise: ``strength`` in [0, 1] blends content (0) and stylised output (1);
    ``preserve_color`` keeps the content's chroma; ``tile`` (pixels, None for whole images) and
    ``overlap`` tile large images; ``stats_size`` is the longest side of the instance-norm statistics pass.

    ``working_size`` is the size policy: the shorter side the network runs at. A network paints textures of a
    fixed size in pixels, so an image whose shorter side is larger is stylised downscaled to it and the output
    upscaled back (bicubic): the texture then has the same size relative to the image at every image size, the
    size it had in training when ``working_size`` is :attr:`Model.trained_size`. None: every image at its own size.
    """

    strength: float = 1.0
    preserve_color: bool = False
    tile: int | None = None
    overlap: int = 64
    stats_size: int = 1024
    working_size: int | None = None


@torch.inference_mode()
def stylize(model: Model, images: Tensor, options: StyleOptions = StyleOptions()) -> Tensor:
    """Stylise ``(B, 3, H, W)`` images in [0, 1] (on any device); returns ``(B, 3, H, W)`` on the images' device."""
    content = images.to(model.device)
    stylized = at_working_size(partial(stylize_at, model, options=options), content, options.working_size)
    if options.preserve_color:
        stylized = preserve_color(content, stylized)
    return blend(content, stylized, options.strength).to(images.device)


def at_working_size(run: Callable[[Tensor], Tensor], images: Tensor, working_size: int | None) -> Tensor:
    """``run`` on ``(B, 3, H, W)`` images in [0, 1] downscaled (antialiased) to a shorter side of ``working_size``
    where theirs is larger, its output upscaled back (bicubic, clamped to [0, 1]); else ``run(images)``."""
    h, w = images.shape[-2:]
    if working_size is None or min(h, w) <= working_size:
        return run(images)
    size = [max(1, round(side * working_size / min(h, w))) for side in (h, w)]
    small = F.interpolate(images, size=size, mode="bilinear", antialias=True, align_corners=False)
    return F.interpolate(run(small), size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def stylize_at(model: Model, content: Tensor, options: StyleOptions) -> Tensor:
    """``model``'s stylisation of ``content`` ``(B, 3, H, W)`` at its own size, tiled as ``options`` say."""
    if options.tile is not None and max(content.shape[-2:]) > options.tile:
        if model.net is None:
            raise ValueError(
                f"tiling needs the eager network to fix instance-norm statistics; pass a checkpoint, "
                f"not a {model.backend} model"
            )
        return torch.cat(
            [
                stylize_tiled(model.net, image[None], options.tile, options.overlap, options.stats_size)
                for image in content
            ]
        )
    return model.run(content).to(model.device)
