"""Evaluate stylised outputs over fixed content x style pairs: per-pair scores, a summary and a contact sheet.

Outputs come from a model (checkpoint, TorchScript, ONNX or meta-network checkpoint) or from a folder
of images already stylised. Each pair is scored with :mod:`stylenet.metrics`:

- ``content_distance``: relative VGG feature error to the content at one tap (default relu2_2; VGG16, or VGG19);
- ``lpips_vgg``: LPIPS-VGG distance to the content;
- ``style_distance``: relative Gram error to the style over relu1_1 ... relu5_1;
- ``edge_ssim``: SSIM between the Sobel edge maps of the content and the output.

A metric whose weights file is missing is skipped with the reason, never reported as a number.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from stylenet import checkpoint as checkpoints
from stylenet.imageio import IMAGE_SUFFIXES, load_image
from stylenet.inference import (
    MODEL_FILE_BACKENDS,
    arbitrary_style_net,
    at_working_size,
    load_model,
    runnable,
    trained_size,
)
from stylenet.losses import GramLoss
from stylenet.metrics import (
    LPIPS_TAPS,
    STYLE_TAPS,
    content_distance,
    edge_ssim,
    gram_distance,
    load_lpips_heads,
    lpips_distance,
    style_grams,
)
from stylenet.models import ArbitraryStyleNet
from stylenet.models.meta_transform_net import JOHNSON_TAPS
from stylenet.plotting import contact_sheet
from stylenet.vgg import VGGEncoder

METRICS = ("content_distance", "lpips_vgg", "style_distance", "edge_ssim")
VGG_METRICS = ("content_distance", "lpips_vgg", "style_distance")
GRAM_CACHE = 64  # style images whose Gram matrices a Scorer keeps (about 2.4 MB each with VGG16/19)
# Default pairs, relative to the images folder (../shared/images): four photos of different kinds ...
DEFAULT_CONTENT = (
    "content/neural_style/tubingen.jpg",
    "content/neural_style/golden_gate.jpg",
    "content/kodak24/kodim23.jpg",
    "content/kodak24/kodim05.jpg",
)
# ... and, for sources without a style of their own (meta networks, folders), two classic styles.
DEFAULT_STYLES = ("style/fast_neural_style/starry_night.jpg", "style/fast_neural_style/candy.jpg")


@dataclass(frozen=True)
class Pair:
    """One content image stylised with one style image."""

    content: Path
    style: Path


def make_pairs(contents: Sequence[Path], styles: Sequence[Path]) -> list[Pair]:
    """Every content with every style, content-major."""
    return [Pair(Path(c), Path(s)) for c in contents for s in styles]


# (pair, content (1, 3, H, W), style (1, 3, h, w)) -> output (1, 3, H, W) in [0, 1]
OutputSource = Callable[[Pair, Tensor, Tensor], Tensor]


@dataclass
class LoadedSource:
    """Where outputs come from: ``outputs`` makes or finds them; ``style`` is the style image the model was
    trained on (None if it takes any style); ``name`` describes the source."""

    outputs: OutputSource
    name: str
    style: Path | None = None


def trained_style(metadata: dict | None) -> Path | None:
    """The style image recorded in a checkpoint's or sidecar's run config, if any."""
    image = ((metadata or {}).get("config") or {}).get("style", {}).get("image")
    return Path(image) if image else None


def model_source(
    path: str | os.PathLike,
    device: str | torch.device = "cpu",
    backend: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    vgg_weights: str | os.PathLike | None = None,
) -> LoadedSource:
    """Outputs of the model at ``path``: a transform net (checkpoint, TorchScript, ONNX; see
    :func:`stylenet.inference.load_model`) stylises with its own style; a meta-network checkpoint with each
    pair's style (its style embedding runs on ``vgg_weights`` if given, else the weights it was trained with), at
    the working size it was trained at, as ``stylenet stylize`` runs it by default.
    Scores never depend on the CPU: every backend runs fp32."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model not found: {path}")
    if path.suffix.lower() in MODEL_FILE_BACKENDS:
        sidecar = path.with_suffix(".json")
        metadata = json.loads(sidecar.read_text()) if sidecar.is_file() else None
        model = load_model(path, device, backend, cache_dir, precision="fp32")
    else:
        loaded = checkpoints.load(path, device)
        metadata = loaded.metadata
        if loaded.kind == "metanet":
            net = arbitrary_style_net(loaded, vgg_weights)

            working_size = trained_size(metadata)

            @torch.no_grad()
            def arbitrary(_pair: Pair, content: Tensor, style: Tensor) -> Tensor:
                code = net.style_code([style[0].to(device)])
                return at_working_size(partial(net, code=code), content.to(device), working_size).cpu()

            return LoadedSource(arbitrary, f"meta network {path}")
        model = runnable(loaded.network, loaded.sha256, str(path), device, backend, "fp32", cache_dir)

    @torch.inference_mode()
    def fixed(_pair: Pair, content: Tensor, _style: Tensor) -> Tensor:
        return model.run(content.to(model.device)).float().cpu()

    return LoadedSource(fixed, f"{model.backend} model {path}", trained_style(metadata))


def output_names(pair: Pair) -> tuple[str, str]:
    """Stems an output of ``pair`` may have in a folder: ``<content>__<style>``, or ``<content>`` (one style)."""
    return f"{pair.content.stem}__{pair.style.stem}", pair.content.stem


def folder_source(folder: str | os.PathLike, single_style: bool) -> LoadedSource:
    """Outputs read from ``folder``: ``<content stem>__<style stem>.<ext>``, or, when only one style is
    evaluated, ``<content stem>.<ext>`` as ``stylenet stylize`` names them. Outputs are resized like the
    content (longest side), then, if their aspect ratio differs, to the content's size."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"outputs folder not found: {folder}")
    files = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}

    def read(pair: Pair, content: Tensor, _style: Tensor) -> Tensor:
        paired, plain = output_names(pair)
        found = files.get(paired) or (files.get(plain) if single_style else None)
        if found is None:
            expected = f"{paired}.<ext>" + (f" or {plain}.<ext>" if single_style else "")
            raise FileNotFoundError(
                f"no output for {pair.content.name} x {pair.style.name} in {folder}: expected {expected}"
            )
        output = load_image(found, max(content.shape[-2:]))[None]  # resampled as the content was
        if output.shape[-2:] != content.shape[-2:]:
            output = F.interpolate(
                output, size=content.shape[-2:], mode="bilinear", antialias=True, align_corners=False
            )
        return output

    return LoadedSource(read, f"folder {folder}")


def scoring_networks(
    vgg_weights: str | os.PathLike,
    lpips_weights: str | os.PathLike,
    vgg_metrics: Sequence[str],
    arch: str = "vgg16",
) -> tuple[VGGEncoder | None, dict[str, Tensor] | None, dict[str, str]]:
    """The VGG encoder (``arch``) and LPIPS heads a scorer needs, None for each whose file is missing (LPIPS
    also with another encoder than VGG16, which its heads are for), and the reason each skipped metric gives
    (``vgg_metrics`` need the encoder, ``lpips_vgg`` both)."""
    skipped: dict[str, str] = {}
    encoder = heads = None
    if Path(vgg_weights).is_file():
        encoder = VGGEncoder(arch, vgg_weights, taps=())
    else:
        skipped.update(dict.fromkeys(vgg_metrics, f"{arch.upper()} weights not found: {vgg_weights}"))
    if arch != "vgg16":
        skipped.setdefault("lpips_vgg", f"LPIPS's heads are for VGG16, not {arch.upper()}")
    elif Path(lpips_weights).is_file():
        heads = load_lpips_heads(lpips_weights)
    else:
        skipped.setdefault("lpips_vgg", f"LPIPS weights not found: {lpips_weights}")
    return encoder, heads, skipped


@dataclass
class Scorer:
    """Scores ``(output, content, style)`` images with every metric whose weights are available.

    ``encoder`` (VGG16 or VGG19) is None when its weights are missing, ``lpips_heads`` when LPIPS's are;
    ``skipped`` maps each metric that cannot run to the reason.
    """

    encoder: VGGEncoder | None
    lpips_heads: dict[str, Tensor] | None
    content_tap: str = "relu2_2"
    skipped: dict[str, str] = field(default_factory=dict)
    # the references of keyed calls, by (file, image shape): the last content's features, the styles' Gram matrices
    _photo: tuple[tuple, dict[str, Tensor]] | None = field(default=None, repr=False)
    _grams: dict[tuple, dict[str, Tensor]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_files(
        cls,
        vgg_weights: str | os.PathLike,
        lpips_weights: str | os.PathLike,
        content_tap: str = "relu2_2",
        device: str | torch.device = "cpu",
        arch: str = "vgg16",
    ) -> Scorer:
        """Load the VGG features (``arch``: ``"vgg16"`` or ``"vgg19"``) and the LPIPS heads (VGG16 only); a
        missing file skips the metrics that need it.

        Raises ``KeyError`` for an unknown ``content_tap`` and ``ValueError`` for an unreadable weights file.
        """
        encoder, heads, skipped = scoring_networks(vgg_weights, lpips_weights, VGG_METRICS, arch)
        if encoder is not None:
            encoder.to(device).check_taps([content_tap])
        return cls(encoder, heads, content_tap, skipped)

    @torch.no_grad()
    def score(
        self, output: Tensor, content: Tensor, style: Tensor, key: tuple[Path, Path] | None = None
    ) -> dict[str, float | None]:
        """Scores of ``output`` and ``content`` ``(1, 3, H, W)`` and ``style`` ``(1, 3, h, w)``; None = skipped.

        ``key``, the files ``content`` and ``style`` were read from, reuses their VGG features from the last call
        with the same content file and from the calls with the same style file (the last :data:`GRAM_CACHE`), each
        at the same size: one VGG pass a pair instead of three, for pairs in content-major order.
        """
        scores: dict[str, float | None] = dict.fromkeys(METRICS)
        scores["edge_ssim"] = edge_ssim(output, content).item()
        if self.encoder is None:
            return scores
        device = self.encoder.mean.device
        content_taps = (self.content_tap, *(LPIPS_TAPS if self.lpips_heads is not None else ()))
        out = self.encoder(output.to(device), dict.fromkeys((*content_taps, *STYLE_TAPS)))
        photo_key, style_key = ((key[0], content.shape), (key[1], style.shape)) if key else (None, None)
        photo = self._photo[1] if key and self._photo and self._photo[0] == photo_key else None
        if photo is None:
            photo = self.encoder(content.to(device), dict.fromkeys(content_taps))
        grams = self._grams.get(style_key) if key else None
        if grams is None:
            grams = style_grams(self.encoder(style.to(device), STYLE_TAPS))
        if key:
            self._photo, self._grams[style_key] = (photo_key, photo), grams
            while len(self._grams) > GRAM_CACHE:
                self._grams.pop(next(iter(self._grams)))
        scores["content_distance"] = content_distance(out, photo, self.content_tap).item()
        scores["style_distance"] = gram_distance(out, grams).item()
        if self.lpips_heads is not None:
            scores["lpips_vgg"] = lpips_distance(out, photo, self.lpips_heads).item()
        return scores


@dataclass
class PairResult:
    """A scored pair with its images ``(1, 3, H, W)`` (content, style, output) for the contact sheet."""

    pair: Pair
    scores: dict[str, float | None]
    images: tuple[Tensor, Tensor, Tensor]


def evaluate(
    source: LoadedSource, pairs: Sequence[Pair], scorer: Scorer, size: int | None = 256, style_size: int | None = 256
) -> list[PairResult]:
    """Load each pair (content at longest side ``size``, style at ``style_size``), get its output and score it."""
    results = []
    for pair in pairs:
        content, style = load_image(pair.content, size)[None], load_image(pair.style, style_size)[None]
        output = source.outputs(pair, content, style).clamp(0, 1)
        if output.shape != content.shape:
            raise ValueError(
                f"{source.name} gave a {tuple(output.shape)} output for {pair.content} of shape {tuple(content.shape)}"
            )
        scores = scorer.score(output, content, style, key=(pair.content, pair.style))
        results.append(PairResult(pair, scores, (content, style, output)))
    return results


def format_score(value: float | None, digits: int = 6) -> str:
    return "skipped" if value is None else f"{value:.{digits}g}"


def write_table(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """A CSV file of ``header`` and ``rows`` at ``path`` (its folder made if needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_csv(results: Sequence[PairResult], path: str | os.PathLike) -> Path:
    """One row per pair: content, style, then every metric (``skipped`` where its weights are missing)."""
    rows = ([r.pair.content, r.pair.style, *(format_score(r.scores[m]) for m in METRICS)] for r in results)
    return write_table(path, ["content", "style", *METRICS], rows)


def mean_scores(results: Sequence[PairResult]) -> dict[str, float | None]:
    """Mean of each metric over the pairs; None for a skipped metric."""
    means: dict[str, float | None] = {}
    for metric in METRICS:
        values = [r.scores[metric] for r in results if r.scores[metric] is not None]
        means[metric] = math.fsum(values) / len(values) if values else None
    return means


def summary_table(results: Sequence[PairResult], scorer: Scorer) -> str:
    """Plain-text table: the mean of each metric over the pairs, what is better, and why any metric was skipped."""
    better = {"content_distance": "lower", "lpips_vgg": "lower", "style_distance": "lower", "edge_ssim": "higher"}
    labels = {"content_distance": f"content_distance ({scorer.content_tap})"}
    rows = [(labels.get(m, m), format_score(v), better[m]) for m, v in mean_scores(results).items()]
    width = max(len(label) for label, _, _ in rows)
    lines = [f"{len(results)} pairs", f"{'metric':<{width}}  {'mean':>10}  better"]
    lines += [f"{label:<{width}}  {value:>10}  {direction}" for label, value, direction in rows]
    lines += [f"skipped {metric}: {reason}" for metric, reason in scorer.skipped.items()]
    return "\n".join(lines)


def evaluation_sheet(results: Sequence[PairResult], tile: int = 192) -> Image.Image:
    """Contact sheet with one row per pair: content | style | output, the output labelled with its scores."""
    tiles = []
    for result in results:
        content, style, output = (image[0] for image in result.images)
        short = {metric: format_score(value, 3) for metric, value in result.scores.items()}
        label = (
            f"content {short['content_distance']}  lpips {short['lpips_vgg']}\n"
            f"style {short['style_distance']}  edge {short['edge_ssim']}"
        )
        tiles += [(result.pair.content.name, content), (result.pair.style.name, style), (label, output)]
    return contact_sheet(tiles, columns=3, tile=tile, font_size=11)


@torch.no_grad()
def transfer_scores(model: ArbitraryStyleNet, encoder: VGGEncoder, content: Tensor, styles: Tensor) -> dict[str, float]:
    """Stylise ``content[i]`` ``(N, 3, H, W)`` with ``styles[i]`` ``(N, 3, h, w)`` and score on ``encoder``.

    Returns ``gram_output`` and ``gram_photo``: mean Gram style loss (Johnson taps, unit weights) of
    the outputs and of the unmodified photos against their styles; ``gram_ratio`` = their quotient;
    ``content_relative``: ``mean((phi(output) - phi(photo))^2) / mean(phi(photo)^2)`` at relu2_2;
    ``content_own_vs_other``: the relu2_2 content loss of each output against its own photo divided
    by its mean content loss against the other photos, averaged (1: the photo's content is lost, as
    relu2_2 alone cannot tell it from the others; needs ``N`` >= 2).
    """
    pairs = zip(content, styles, strict=True)
    output = torch.cat([model(image[None], model.style_code([style])) for image, style in pairs])
    gram = GramLoss(JOHNSON_TAPS)
    gram.bind(encoder)
    taps = (*JOHNSON_TAPS, "relu2_2")
    style_features, output_features, photo_features = (encoder(x, taps) for x in (styles, output, content))
    gram.set_target(style_features)
    gram_output = sum(gram(output_features).values()).item()
    gram_photo = sum(gram(photo_features).values()).item()
    photo, out = photo_features["relu2_2"], output_features["relu2_2"]
    pairwise = torch.stack([(o[None] - photo).pow(2).flatten(1).mean(1) for o in out])  # (output i, photo j)
    own = pairwise.diag()
    other = (pairwise.sum(1) - own) / (len(own) - 1)
    return {
        "gram_output": gram_output,
        "gram_photo": gram_photo,
        "gram_ratio": gram_output / gram_photo,
        "content_relative": ((out - photo).pow(2).mean() / photo.pow(2).mean()).item(),
        "content_own_vs_other": (own / other).mean().item(),
    }
