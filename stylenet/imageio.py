"""Reading and writing images as ``(3, H, W)`` float tensors in [0, 1].

Every failure names the file: missing, unreadable or truncated, empty, or too large. Greyscale,
palette, RGBA (composited on white), CMYK, 16-bit and float images are converted to 8-bit-range RGB;
EXIF orientation is honoured.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageReadError(ValueError):
    """An image file could not be read; the message names the file and the cause."""


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB (alpha composited on white, high bit depths rescaled)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB") if image.mode != "RGB" else image


def open_image(source: str | os.PathLike | bytes, name: str | None = None) -> Image.Image:
    """Decode a file path or encoded bytes to an RGB PIL image, upright per EXIF."""
    label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise FileNotFoundError(f"image not found: {label}")
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            rgb = to_rgb(image)
    except Image.DecompressionBombError as error:
        raise ImageReadError(f"{label}: image too large to decode safely ({error})") from error
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageReadError(f"{label}: cannot read image ({error})") from error
    if rgb.width == 0 or rgb.height == 0:
        raise ImageReadError(f"{label}: image has zero size {rgb.width}x{rgb.height}")
    return rgb


def pil_to_tensor(image: Image.Image) -> Tensor:
    """RGB PIL image -> ``(3, H, W)`` float32 in [0, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def tensor_to_pil(image: Tensor) -> Image.Image:
    """``(3, H, W)`` in [0, 1] -> RGB PIL image."""
    array = image.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array, "RGB")


def resize_longest(image: Image.Image, size: int | None) -> Image.Image:
    """Resize so that the longest side is ``size`` (no-op for None)."""
    if size is None or max(image.size) == size:
        return image
    scale = size / max(image.size)
    new = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(new, Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS)


def load_image(path: str | os.PathLike, size: int | None = None) -> Tensor:
    """Read ``path`` as ``(3, H, W)`` float in [0, 1], optionally resized to longest side ``size``."""
    return pil_to_tensor(resize_longest(open_image(path), size))


def save_image(image: Tensor, path: str | os.PathLike) -> Path:
    """Write ``(3, H, W)`` in [0, 1] to ``path`` atomically (format from the suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        tensor_to_pil(image).save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
