"""Stylising with a trained meta network: any style image, style blends, and baked transform nets.

net = load_metanet("last.ckpt")
code = net.style_code([load_image("a.jpg", net.style_size), load_image("b.jpg", net.style_size)], [0.7, 0.3])
out = net(content, code)                        # (B, 3, H, W) in [0, 1]
plain = net.bake(code)                          # a TransformNet, exportable like a Johnson net

plain, metadata = bake_styles("last.ckpt", ["a.jpg", "b.jpg"], [0.7, 0.3])   # the same from files
net.switch_with_onnxruntime("onnx/")          # faster style switches on a CPU: codes and weights in ONNX Runtime
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from stylenet.checkpoint import check_architecture, read_checkpoint
from stylenet.export import check_export, export_onnx, onnx_session, run_onnx
from stylenet.imageio import load_image
from stylenet.models import TransformNet
from stylenet.models.metanet import MetaTransformNet, StyleEmbedding
from stylenet.system import file_sha256
from stylenet.vgg import VGGEncoder


class _StyleCode(nn.Module):
    """Style images ``(S, 3, H, W)`` -> hidden codes ``(S, D)``: the embedding and the hidden layer, for export."""

    def __init__(self, embedding: StyleEmbedding, net: MetaTransformNet) -> None:
        super().__init__()
        self.embedding, self.net = embedding, net

    def forward(self, styles: Tensor) -> Tensor:
        return self.net.code(self.embedding(styles))


class _Weights(nn.Module):
    """Hidden codes ``(S, D)`` -> every generated parameter, flattened and concatenated ``(S, N)``, for export."""

    def __init__(self, net: MetaTransformNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, code: Tensor) -> Tensor:
        return torch.cat([value.flatten(1) for value in self.net.generate(code).values()], dim=1)


class OnnxStyleSwitch:
    """A style switch in ONNX Runtime on a CPU: style image -> hidden code, and hidden code -> generated weights.

    Two exports, written to ``folder`` and checked against eager: ``style_code.onnx`` (resize, VGG,
    statistics and hidden layer; dynamic height and width) and ``weights.onnx`` (the heads and the gain
    cap). No PyTorch op runs between them, and the sessions' threads sleep as soon as a run ends, so no
    idle thread of one session (or of PyTorch) holds the cores while the other works; ``bench/metanet.py``
    times a switch both ways.
    """

    def __init__(
        self, embedding: StyleEmbedding, net: MetaTransformNet, folder: str | Path, threads: int | None = None
    ) -> None:
        embedding, net = copy.deepcopy(embedding).cpu().eval(), copy.deepcopy(net).cpu().eval()
        self.shapes = {name: net.shapes[name] for names in net.generated for name in names}
        folder = Path(folder)
        code, weights = _StyleCode(embedding, net), _Weights(net)
        with torch.no_grad():
            codes = code(torch.rand(2, 3, 37, 45))  # batch 2: a batch of 1 would be frozen by the export
        export_onnx(code, folder / "style_code.onnx", fold=False, names=("style", "code"))
        export_onnx(weights, folder / "weights.onnx", fold=False, names=("code", "weights"), example=codes)
        self.code_session = onnx_session(folder / "style_code.onnx", threads, spin=False)
        self.weights_session = onnx_session(folder / "weights.onnx", threads, spin=False)
        check_export("ONNX style code", code, self.code, torch.rand(1, 3, 37, 45))
        check_export("ONNX generated weights", weights, self._flat_weights, codes)

    def code(self, styles: Tensor) -> Tensor:
        """Style images ``(S, 3, H, W)`` of one size -> hidden codes ``(S, D)`` on CPU."""
        return run_onnx(self.code_session, styles)

    def _flat_weights(self, code: Tensor) -> Tensor:
        return run_onnx(self.weights_session, code)

    def generate(self, code: Tensor) -> dict[str, Tensor]:
        """Hidden codes ``(S, D)`` -> ``{parameter name: (S, *shape)}``, as :meth:`MetaTransformNet.generate`."""
        flat = self._flat_weights(code).to(code.device)
        values = flat.split([shape.numel() for shape in self.shapes.values()], dim=1)
        return {name: v.reshape(-1, *shape) for (name, shape), v in zip(self.shapes.items(), values, strict=True)}


class ArbitraryStyleNet(nn.Module):
    """A style embedding and a meta network: style images -> hidden code -> stylised images.

    Args:
        embedding: VGG statistics of style images.
        net: the meta network with its template transform net.
        style_size: longest side style images are resized to (the size the network was trained at).
        metadata: ``checkpoint["stylenet"]`` of the checkpoint it was loaded from (run config, version).
    """

    def __init__(
        self,
        embedding: StyleEmbedding,
        net: MetaTransformNet,
        style_size: int | None = 256,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.embedding, self.net, self.style_size = embedding, net, style_size
        self.metadata = metadata or {}
        self.onnx: OnnxStyleSwitch | None = None

    def switch_with_onnxruntime(self, folder: str | Path, threads: int | None = None) -> ArbitraryStyleNet:
        """Compute style codes and generated weights with ONNX Runtime from here on (exports written to
        ``folder``); returns self. On a CPU this halves the time of a style switch (``bench/metanet.py``)."""
        self.onnx = OnnxStyleSwitch(self.embedding, self.net, folder, threads)
        return self

    @torch.no_grad()
    def style_code(self, styles: Sequence[Tensor], weights: Sequence[float] | None = None) -> Tensor:
        """Style images ``[(3, H_i, W_i), ...]`` (any sizes) -> one hidden code ``(1, D)``.

        Several styles are blended in the meta network's hidden space with ``weights`` (normalised
        to sum to 1; equal weights by default).
        """
        if not styles:
            raise ValueError("style_code needs at least one style image")
        weights = [1.0] * len(styles) if weights is None else [float(w) for w in weights]
        if len(weights) != len(styles):
            raise ValueError(f"{len(styles)} style images but {len(weights)} weights")
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"style weights must be non-negative with a positive sum, got {weights}")
        code = self.onnx.code if self.onnx else lambda style: self.net.code(self.embedding(style))
        codes = torch.cat([code(style[None]) for style in styles])
        mix = torch.tensor(weights, dtype=codes.dtype, device=codes.device) / sum(weights)
        return (mix[:, None] * codes).sum(0, keepdim=True)

    @torch.no_grad()
    def generate(self, code: Tensor) -> dict[str, Tensor]:
        """Hidden codes ``(S, D)`` -> the generated weights ``{parameter name: (S, *shape)}``."""
        return self.onnx.generate(code) if self.onnx else self.net.generate(code)

    def forward(self, images: Tensor, code: Tensor) -> Tensor:
        """``(B, 3, H, W)`` in [0, 1] with a code ``(1 or B, D)`` -> ``(B, 3, H, W)`` in [0, 1]."""
        return self.net.stylize(images, self.generate(code))

    @torch.no_grad()
    def bake(self, code: Tensor) -> TransformNet:
        """A plain :class:`TransformNet` with the weights generated for ``code`` ``(1, D)``, in eval mode."""
        return self.net.bake(self.generate(code)).eval()


def load_metanet(
    checkpoint: str | Path, vgg_weights: str | Path | None = None, map_location: str | torch.device = "cpu"
) -> ArbitraryStyleNet:
    """An :class:`ArbitraryStyleNet` (eval mode) from a :class:`~stylenet.metanet.system.MetaStylizer` checkpoint.

    ``vgg_weights`` (a file or a torchvision weights-enum name) replaces the VGG weights recorded in the
    checkpoint's config, e.g. when the checkpoint was trained on another machine.
    """
    weights, info = read_checkpoint(checkpoint, map_location)
    if "metanet" not in info:
        raise ValueError(f"{checkpoint} is not a meta-network checkpoint (no stylenet.metanet entry)")
    config = info["config"]
    model_args = {k: v for k, v in config["model"].items() if k != "_target_"}
    net = MetaTransformNet(**model_args)
    check_architecture(net.state_dict(), weights, f"{checkpoint} (model {model_args})")
    net.load_state_dict(weights)
    encoder = VGGEncoder(info["metanet"]["arch"], vgg_weights or config["backbone"]["weights"])
    style_size = config.get("data", {}).get("style", {}).get("image_size")
    embedding = StyleEmbedding(encoder, info["metanet"]["taps"], info["metanet"].get("embedding_size"))
    return ArbitraryStyleNet(embedding, net, style_size, info).to(map_location).eval()


def is_metanet_checkpoint(metadata: dict[str, Any]) -> bool:
    """Whether ``checkpoint["stylenet"]`` describes a meta-network checkpoint."""
    return "metanet" in metadata


def bake_styles(
    checkpoint: str | Path,
    styles: Sequence[str | Path],
    weights: Sequence[float] | None = None,
    vgg_weights: str | Path | None = None,
) -> tuple[TransformNet, dict[str, Any]]:
    """The plain transform net a meta-network checkpoint generates for style image files (blended by
    ``weights``), and metadata like a single-style checkpoint's: run config, version, and the styles'
    names, hashes and weights.
    """
    model = load_metanet(checkpoint, vgg_weights)
    paths = [Path(style) for style in styles]
    code = model.style_code([load_image(path, model.style_size) for path in paths], weights)
    style = {
        "image": " + ".join(path.name for path in paths),
        "sha256": [file_sha256(path) for path in paths],
        "weights": list(weights) if weights is not None else [1.0] * len(paths),
        "size": model.style_size,
    }
    return model.bake(code), {**model.metadata, "style": style}
