"""Upscale images with a trained super-resolution checkpoint, on the same backends as stylisation.

    upscaler = load_upscaler("sr_x4.ckpt")               # eager, TorchScript, ONNX Runtime or OpenVINO (bf16)
    high = upscale(upscaler, low)                        # (B, 3, h, w) -> (B, 3, 4h, 4w)

Inputs larger than ``tile`` pixels are upscaled in overlapping tiles, so any size fits in memory. The default
network has no normalisation and batch norm uses fixed statistics at inference, so tiles need only an overlap
wider than the receptive field; a ``norm=instance`` network computes statistics per tile and is best run
untiled (``tile=None``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import Tensor

from stylenet import checkpoint as checkpoints
from stylenet.inference import Model, runnable

DEFAULT_TILE = 256  # low-resolution pixels: x4 outputs of 1024 x 1024 per tile
OVERLAP = 16  # low-resolution pixels, more than the network's receptive-field radius (about 14)


@dataclass
class Upscaler:
    """A loaded super-resolution model: ``model.run`` maps ``(B, 3, h, w)`` to ``(B, 3, factor h, factor w)``."""

    model: Model
    factor: int


def load_upscaler(
    path: str | os.PathLike,
    device: str | torch.device = "cpu",
    backend: str = "auto",
    precision: str = "auto",
    cache_dir: str | os.PathLike | None = None,
) -> Upscaler:
    """A super-resolution checkpoint on ``backend`` (see :func:`stylenet.inference.load_model`); a one-line
    ``ValueError`` naming ``path`` for a checkpoint of another kind."""
    loaded = checkpoints.load(path, kind="super_resolver")
    model = runnable(loaded.network, loaded.sha256, str(path), device, backend, precision, cache_dir)
    return Upscaler(model, loaded.metadata["super_resolution"]["factor"])


def windows(size: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """``(start, stop, keep_from, keep_to)`` along one side: each window's span and the part of it kept."""
    if size <= tile:
        return [(0, size, 0, size)]
    step = tile - 2 * overlap
    spans = []
    for keep in range(0, size, step):
        start, stop = max(0, keep - overlap), min(size, keep + step + overlap)
        spans.append((start, stop, keep, min(size, keep + step)))
    return spans


@torch.inference_mode()
def upscale(upscaler: Upscaler, images: Tensor, tile: int | None = DEFAULT_TILE, overlap: int = OVERLAP) -> Tensor:
    """``(B, 3, h, w)`` in [0, 1] -> ``(B, 3, f h, f w)`` on the images' device, in tiles of ``tile`` pixels
    (None: whole) overlapping by ``overlap``."""
    model, f = upscaler.model, upscaler.factor
    low = images.to(model.device)
    b, c, h, w = low.shape
    if tile is None or max(h, w) <= tile:
        return model.run(low).to(images.device)
    if tile <= 2 * overlap:
        raise ValueError(f"tiles of {tile} px must be wider than twice their overlap ({overlap} px)")
    out = low.new_empty(b, c, f * h, f * w)
    for top, bottom, keep_top, keep_bottom in windows(h, tile, overlap):
        for left, right, keep_left, keep_right in windows(w, tile, overlap):
            high = model.run(low[..., top:bottom, left:right].contiguous()).to(out.device)
            rows = slice(f * (keep_top - top), f * (keep_bottom - top))
            cols = slice(f * (keep_left - left), f * (keep_right - left))
            out[..., f * keep_top : f * keep_bottom, f * keep_left : f * keep_right] = high[..., rows, cols]
    return out.to(images.device)
