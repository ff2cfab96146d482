"""Evaluate super-resolution on the standard test sets: per-image scores, a summary and a contact sheet.

Each ground-truth image of Set5 / Set14 (``<shared>/sr_benchmarks/<set>/*.png``; never trained on) is cropped
to a multiple of the factor, degraded (:func:`stylenet.bicubic.degrade`: ``bicubic``, the standard of
published tables, or ``blur_bicubic``, the paper's), and upscaled by each method: bicubic
(:func:`stylenet.bicubic.bicubic_upsample`) and any network. Scores (:mod:`stylenet.sr_metrics`):
``psnr_y`` and ``ssim_y`` (BasicSR's conventions), ``lpips_vgg`` and the relative VGG16 relu2_2
``feature_distance`` to the ground truth; a metric whose weights are missing is skipped with the reason.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from stylenet.bicubic import bicubic_upsample, degrade
from stylenet.config import shared_dir
from stylenet.evaluation import format_score, scoring_networks, write_table
from stylenet.imageio import load_image
from stylenet.metrics import LPIPS_TAPS, content_distance, lpips_distance
from stylenet.plotting import contact_sheet
from stylenet.sr_metrics import crop_to_scale, psnr_y, ssim_y
from stylenet.vgg import VGGEncoder

SETS = ("set5", "set14")
METRICS = ("psnr_y", "ssim_y", "lpips_vgg", "feature_distance")
BETTER = {"psnr_y": "higher", "ssim_y": "higher", "lpips_vgg": "lower", "feature_distance": "lower"}
Upscaler = Callable[[Tensor], Tensor]  # (1, 3, h, w) -> (1, 3, f h, f w), in [0, 1]


def benchmark_images(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The ground-truth PNGs of test set ``name`` under ``root`` (default ``<shared>/sr_benchmarks``)."""
    folder = Path(root or shared_dir() / "sr_benchmarks") / name
    images = sorted(folder.glob("*.png"))
    if not images:
        raise FileNotFoundError(f"no test images in {folder}")
    return images


@dataclass
class SRScorer:
    """PSNR/SSIM always; LPIPS and the feature distance when VGG16's (and LPIPS's) weights are present."""

    encoder: VGGEncoder | None
    lpips_heads: dict[str, Tensor] | None
    skipped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_files(cls, vgg_weights: str | os.PathLike, lpips_weights: str | os.PathLike) -> SRScorer:
        return cls(*scoring_networks(vgg_weights, lpips_weights, ("lpips_vgg", "feature_distance")))

    @torch.no_grad()
    def score(self, output: Tensor, truth: Tensor, factor: int) -> dict[str, float | None]:
        """Scores of ``output`` against ``truth`` ``(1, 3, H, W)``; None for a skipped metric."""
        scores: dict[str, float | None] = dict.fromkeys(METRICS)
        scores["psnr_y"] = psnr_y(output, truth, factor).item()
        scores["ssim_y"] = ssim_y(output, truth, factor).item()
        if self.encoder is not None:
            taps = ("relu2_2", *(LPIPS_TAPS if self.lpips_heads is not None else ()))
            out, ref = self.encoder(output, dict.fromkeys(taps)), self.encoder(truth, dict.fromkeys(taps))
            scores["feature_distance"] = content_distance(out, ref, "relu2_2").item()
            if self.lpips_heads is not None:
                scores["lpips_vgg"] = lpips_distance(out, ref, self.lpips_heads).item()
        return scores


@dataclass
class SRResult:
    """One method on one image: its scores and ``(low, upscaled, truth)`` images for the contact sheet."""

    test_set: str
    image: Path
    degradation: str
    factor: int
    method: str
    scores: dict[str, float | None]
    images: tuple[Tensor, Tensor, Tensor]


def bicubic(factor: int) -> Upscaler:
    return lambda low: bicubic_upsample(low, factor).clamp(0, 1)


@torch.no_grad()
def evaluate_sr(
    methods: Mapping[str, Upscaler],
    test_sets: Mapping[str, Sequence[Path]],
    factor: int,
    degradations: Sequence[str],
    scorer: SRScorer,
) -> list[SRResult]:
    """Every method on every image of every set, under every degradation."""
    results = []
    for test_set, paths in test_sets.items():
        for path in paths:
            truth = crop_to_scale(load_image(path)[None], factor)
            if min(truth.shape[-2:]) < 2 * factor:
                raise ValueError(f"{path} is too small for x{factor} ({tuple(truth.shape[-2:])} px)")
            for degradation in degradations:
                low = degrade(truth, factor, degradation)
                for method, upscale in methods.items():
                    output = upscale(low).float().clamp(0, 1)
                    if output.shape != truth.shape:
                        raise ValueError(f"{method} gave {tuple(output.shape)} for {path} at x{factor}")
                    scores = scorer.score(output, truth, factor)
                    results.append(SRResult(test_set, path, degradation, factor, method, scores, (low, output, truth)))
    return results


def write_sr_csv(results: Sequence[SRResult], path: str | os.PathLike) -> Path:
    """One row per (set, image, degradation, factor, method) with every metric."""
    header = ["set", "image", "degradation", "factor", "method", *METRICS]
    rows = (
        [r.test_set, r.image.name, r.degradation, r.factor, r.method, *(format_score(r.scores[m]) for m in METRICS)]
        for r in results
    )
    return write_table(path, header, rows)


def sr_summary(results: Sequence[SRResult], skipped: Mapping[str, str] = {}) -> str:
    """The mean of each metric per set, degradation, factor and method."""
    groups: dict[tuple[str, str, int, str], list[SRResult]] = {}
    for r in results:
        groups.setdefault((r.test_set, r.degradation, r.factor, r.method), []).append(r)
    header = f"{'set':<6} {'degradation':<13} {'factor':>6} {'method':<24}" + "".join(
        f" {f'{m} ({BETTER[m]})':>26}" for m in METRICS
    )
    lines = [header]
    for (test_set, degradation, factor, method), group in groups.items():
        means = []
        for metric in METRICS:
            values = [r.scores[metric] for r in group if r.scores[metric] is not None]
            means.append(format_score(math.fsum(values) / len(values) if values else None, 5))
        lines.append(f"{test_set:<6} {degradation:<13} {factor:>6} {method:<24}" + "".join(f" {m:>26}" for m in means))
    lines += [f"skipped {metric}: {reason}" for metric, reason in skipped.items()]
    return "\n".join(lines)


def zoomed(image: Tensor, fraction: float = 0.25) -> Tensor:
    """The central ``fraction`` of ``(3, H, W)`` (a crop to look at detail)."""
    h, w = image.shape[-2:]
    ch, cw = max(1, int(h * fraction)), max(1, int(w * fraction))
    return image[..., (h - ch) // 2 : (h + ch) // 2, (w - cw) // 2 : (w + cw) // 2]


def sr_sheet(results: Sequence[SRResult], tile: int = 160) -> Image.Image:
    """Per image and degradation a row: LR | each method | HR, then the same zoomed in on the centre."""
    rows: dict[tuple[str, str], list[SRResult]] = {}
    for r in results:
        rows.setdefault((str(r.image), r.degradation), []).append(r)
    tiles: list[tuple[str, Tensor]] = []
    columns = 0
    for (_, degradation), group in rows.items():
        low, _, truth = group[0].images
        nearest = F.interpolate(low, size=truth.shape[-2:], mode="nearest")[0]
        row = [(f"{group[0].image.name} LR ({degradation})", nearest)]
        row += [(f"{r.method} {format_score(r.scores['psnr_y'], 4)} dB", r.images[1][0]) for r in group]
        row.append(("HR", truth[0]))
        row += [(f"{label.split(' ')[0]} (zoom)", zoomed(image)) for label, image in row[1:]]
        tiles += row
        columns = len(row)
    return contact_sheet(tiles, columns=columns, tile=tile, font_size=11)
