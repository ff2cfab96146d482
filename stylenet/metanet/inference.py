"""Stylising with a trained meta network: any style image, style blends, and baked transform nets.

net = load_metanet("last.ckpt")
code = net.style_code([load_image("a.jpg", net.style_size), load_image("b.jpg", net.style_size)], [0.7, 0.3])
out = net(content, code)                        # (B, 3, H, W) in [0, 1]
plain = net.bake(code)                          # a TransformNet, exportable like a Johnson net

plain, metadata = bake_styles("last.ckpt", ["a.jpg", "b.jpg"], [0.7, 0.3])   # the same from files
net.embed_with_onnxruntime("embedding.onnx")   # faster style switches on a CPU: VGG in ONNX Runtime
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


class _Statistics(nn.Module):
    """:meth:`StyleEmbedding.statistics` as a module's forward, for export."""

    def __init__(self, embedding: StyleEmbedding) -> None:
        super().__init__()
        self.embedding = embedding

    def forward(self, styles: Tensor) -> Tensor:
        return self.embedding.statistics(styles)


class OnnxStyleEmbedding:
    """A :class:`StyleEmbedding` whose VGG pass runs in ONNX Runtime: ``(S, 3, H, W)`` -> ``(S, dim)`` on CPU.

    Style images are resized in PyTorch as by ``embedding``; the VGG features and their statistics come
    from an ONNX export of the embedding (dynamic height and width) written to ``path`` and checked
    against eager. At the sizes a style switch reads (``system.embedding_size``) ONNX Runtime runs
    VGG16 about twice as fast as eager PyTorch on a CPU (``bench/metanet.py``).
    """

    def __init__(self, embedding: StyleEmbedding, path: str | Path, threads: int | None = None) -> None:
        self.resize = embedding.resize
        statistics = _Statistics(copy.deepcopy(embedding)).cpu().eval()
        export_onnx(statistics, path, fold=False, names=("image", "embedding"))
        self.session = onnx_session(path, threads)
        check_export(f"ONNX style embedding {path}", statistics, self.statistics, torch.rand(1, 3, 37, 45))

    def statistics(self, styles: Tensor) -> Tensor:
        """Style images already resized ``(S, 3, H, W)`` -> ``(S, dim)``, from ONNX Runtime."""
        return run_onnx(self.session, styles)

    def __call__(self, styles: Tensor) -> Tensor:
        return self.statistics(self.resize(styles)).to(styles.device)


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
        self.onnx_embedding: OnnxStyleEmbedding | None = None

    def embed_with_onnxruntime(self, path: str | Path, threads: int | None = None) -> ArbitraryStyleNet:
        """Embed style images with ONNX Runtime from here on (the export is written to ``path``); returns self."""
        self.onnx_embedding = OnnxStyleEmbedding(self.embedding, path, threads)
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
        embed = self.onnx_embedding or self.embedding
        codes = torch.cat([self.net.code(embed(style[None])) for style in styles])
        mix = torch.tensor(weights, dtype=codes.dtype, device=codes.device) / sum(weights)
        return (mix[:, None] * codes).sum(0, keepdim=True)

    def forward(self, images: Tensor, code: Tensor) -> Tensor:
        """``(B, 3, H, W)`` in [0, 1] with a code ``(1 or B, D)`` -> ``(B, 3, H, W)`` in [0, 1]."""
        return self.net.stylize(images, self.net.generate(code))

    @torch.no_grad()
    def bake(self, code: Tensor) -> TransformNet:
        """A plain :class:`TransformNet` with the weights generated for ``code`` ``(1, D)``, in eval mode."""
        return self.net.bake(code).eval()


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
