"""Blob artefacts of stylised images: saturated (near-white), isolated regions that the photo does not have.

A pixel is saturated when its luminance (BT.601) is above ``bright``. Each 8-connected region of saturated
pixels with an area between ``min_area`` pixels and ``max_area`` of the image counts as a blob when it stands
out from a ring ``ring`` pixels wide around it (its mean luminance at least ``contrast`` above the ring's) and
the photo under it is not itself near-white (the photo's mean luminance there below ``photo_bright``).
Images are ``(3, H, W)`` RGB in [0, 1]. The defaults are set on 512-px outputs of udnie nets: 500 CPU steps of the
default recipe cover 5x the area with blobs that a pretrained peer's net does on the same photos.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from torch import Tensor

from stylenet.color import RGB_TO_YCBCR


@dataclass(frozen=True)
class BlobRule:
    """What counts as a blob (see the module docstring)."""

    bright: float = 0.95
    min_area: int = 30
    max_area: float = 0.1
    ring: int = 3
    contrast: float = 0.15
    photo_bright: float = 0.75


@dataclass(frozen=True)
class Blob:
    """A blob: its centre ``(x, y)`` in pixels and its area in pixels."""

    x: float
    y: float
    area: int


def luminance(image: Tensor) -> np.ndarray:
    """The BT.601 luminance of ``(3, H, W)`` RGB -> ``(H, W)`` float32."""
    return (RGB_TO_YCBCR[0].view(3, 1, 1) * image.detach().float().cpu()).sum(0).numpy()


def find_blobs(output: Tensor, photo: Tensor, rule: BlobRule = BlobRule()) -> list[Blob]:
    """The blobs of ``output`` ``(3, H, W)`` that ``photo`` ``(3, H, W)`` does not have."""
    if output.shape != photo.shape:
        raise ValueError(f"output {tuple(output.shape)} and photo {tuple(photo.shape)} differ in shape")
    bright, photo_bright = luminance(output), luminance(photo)
    count, labels, stats, centres = cv2.connectedComponentsWithStats((bright > rule.bright).astype(np.uint8), 8)
    height, width = bright.shape
    kernel = np.ones((2 * rule.ring + 1, 2 * rule.ring + 1), np.uint8)
    blobs = []
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        if not rule.min_area <= area <= rule.max_area * height * width:
            continue
        top, left = max(y - rule.ring, 0), max(x - rule.ring, 0)
        bottom, right = min(y + h + rule.ring, height), min(x + w + rule.ring, width)
        inside = labels[top:bottom, left:right] == label
        ring = cv2.dilate(inside.astype(np.uint8), kernel).astype(bool) & ~inside
        patch = bright[top:bottom, left:right]
        if not ring.any() or patch[inside].mean() - patch[ring].mean() < rule.contrast:
            continue
        if photo_bright[top:bottom, left:right][inside].mean() >= rule.photo_bright:
            continue
        blobs.append(Blob(float(centres[label][0]), float(centres[label][1]), int(area)))
    return blobs


def blob_share(outputs: list[Tensor], photos: list[Tensor], rule: BlobRule = BlobRule()) -> float:
    """The share of all pixels of the ``(3, H, W)`` outputs that lie in blobs (against each output's photo)."""
    area = sum(
        blob.area for output, photo in zip(outputs, photos, strict=True) for blob in find_blobs(output, photo, rule)
    )
    return area / sum(output[0].numel() for output in outputs)
