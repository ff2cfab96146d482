"""Stylise an image larger than memory allows, tile by tile, without seams.

Two things make tiles visible in a naive tiled run of an instance-normalised network:

* **Statistics.** Every instance norm would normalise each tile by that tile's own mean and variance,
  so a sky tile and a tree tile get different contrast and colour casts. Here the statistics are
  computed once, on a whole-image pass at a reduced size (longest side ``stats_size``), and every tile
  is normalised with them (:mod:`stylenet.instance_stats`), so all tiles share one normalisation and
  no tile can jump. When the image's longest side is at most ``stats_size`` the statistics are exactly
  those of a whole-image run and tiling only bounds the memory of the full-resolution pass; beyond it
  they are those of the downscaled image (the same content with less fine detail), which shifts the
  whole output slightly but uniformly (no seams). Exact full-resolution statistics would need one
  pass over all tiles per instance norm (each norm's statistics depend on the previous ones), about
  ``num_norms / 2`` times the cost of a whole-image run; the downscaled pass costs a fraction of one.
* **Borders.** The network's convolutions pad each tile at its edges, so pixels near a tile edge
  differ from a whole-image run. Tiles overlap by ``overlap`` pixels and are blended with weights
  that fall linearly to zero towards each tile edge that lies inside the image, so every output
  pixel is dominated by the tile in which it is farthest from an edge.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stylenet.instance_stats import ChannelStats, fixed_instance_stats, record_instance_stats


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of length ``tile`` covering ``size``, consecutive tiles sharing ``overlap``.

    The last tile is aligned with the end (it may overlap its neighbour by more than ``overlap``).
    """
    if tile <= overlap:
        raise ValueError(f"tile size {tile} must be larger than the overlap {overlap}")
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, tile - overlap))
    return [*starts, size - tile]


def edge_ramp(length: int, overlap: int, fade_start: bool, fade_end: bool) -> Tensor:
    """Blending weights ``(length,)``: 1 inside, rising linearly over ``overlap`` pixels at faded ends."""
    position = torch.arange(length, dtype=torch.float32) + 0.5
    weights = torch.ones(length)
    if overlap > 0:
        if fade_start:
            weights = torch.minimum(weights, position / overlap)
        if fade_end:
            weights = torch.minimum(weights, (length - position) / overlap)
    return weights


def instance_stats_pass(net: nn.Module, image: Tensor, stats_size: int) -> dict[nn.Module, ChannelStats]:
    """Instance-norm statistics of ``net`` on ``image`` ``(1, 3, H, W)`` downscaled to longest side ``stats_size``."""
    h, w = image.shape[-2:]
    scale = min(1.0, stats_size / max(h, w))
    small = image
    if scale < 1.0:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        small = F.interpolate(image, size=size, mode="bilinear", antialias=True, align_corners=False)
    with record_instance_stats(net) as stats:
        net(small)
    return stats


@torch.inference_mode()
def stylize_tiled(net: nn.Module, image: Tensor, tile: int, overlap: int = 64, stats_size: int = 1024) -> Tensor:
    """Run ``net`` on ``image`` ``(1, 3, H, W)`` in overlapping ``tile`` x ``tile`` tiles; returns ``(1, 3, H, W)``.

    ``net`` must be an eager ``nn.Module`` normalised by ``nn.InstanceNorm*`` layers (their statistics are
    fixed from one whole-image pass at longest side ``stats_size``, see the module docstring).
    """
    if image.dim() != 4 or image.shape[0] != 1:
        raise ValueError(f"expected one image (1, 3, H, W), got {tuple(image.shape)}")
    h, w = image.shape[-2:]
    stats = instance_stats_pass(net, image, stats_size)
    rows, cols = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    output = torch.zeros_like(image)
    total = torch.zeros((1, 1, h, w), dtype=image.dtype, device=image.device)
    with fixed_instance_stats(net, stats):
        for top in rows:
            for left in cols:
                patch = image[..., top : top + tile, left : left + tile]
                th, tw = patch.shape[-2:]
                weight = torch.outer(
                    edge_ramp(th, overlap, fade_start=top > 0, fade_end=top + th < h),
                    edge_ramp(tw, overlap, fade_start=left > 0, fade_end=left + tw < w),
                ).to(image)
                output[..., top : top + th, left : left + tw] += net(patch) * weight
                total[..., top : top + th, left : left + tw] += weight
    return output / total
