"""Reading and writing images as ``(3, H, W)`` float tensors in [0, 1].

Every failure names the file: missing, unreadable or truncated, empty, or too large. EXIF orientation is
honoured. :func:`load_image` converts every mode to 8-bit-range RGB (greyscale, palette, RGBA composited on
white, CMYK, 16-bit and float). :func:`read_picture` keeps what a stylised copy should keep: the alpha channel
(RGB is the stored colour, not composited) and 16-bit samples (16-bit greyscale through PIL; 16-bit colour PNG
and TIFF, which PIL reduces to 8 bits, through OpenCV). :func:`save_picture` writes them back where the
format holds them (alpha: PNG, WebP, TIFF; 16 bits: PNG, TIFF) and says what it dropped elsewhere.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
ALPHA_SUFFIXES = (".png", ".webp", ".tif", ".tiff")  # formats written with an alpha channel
DEEP_SUFFIXES = (".png", ".tif", ".tiff")  # formats written with 16 bits per sample
DEEP_MODES = ("I;16", "I;16B", "I;16L", "I", "F")  # PIL modes of more than 8 bits per sample (greyscale)
ORIENTATION = 0x0112  # the EXIF tag
# EXIF orientation -> the operation that turns an (H, W, C) array upright, as ImageOps.exif_transpose does
UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, -1)[::-1],
    8: lambda a: np.rot90(a, 1),
}


class ImageReadError(ValueError):
    """An image file could not be read; the message names the file and the cause."""


@dataclass
class Picture:
    """An image as stylisation sees it: ``rgb`` ``(3, H, W)`` in [0, 1], its ``alpha`` ``(1, H, W)`` in [0, 1]
    (None when opaque), and the ``bits`` per sample it was stored with (8, or 16 for anything deeper)."""

    rgb: Tensor
    alpha: Tensor | None = None
    bits: int = 8


def unit_range(array: np.ndarray, mode: str) -> np.ndarray:
    """Samples of a PIL image of a :data:`DEEP_MODES` mode as float64 in [0, 1] (16-bit, else 8-bit range)."""
    array = np.asarray(array, dtype=np.float64)
    top = 65535.0 if mode.startswith("I;16") or array.max() > 255 else 255.0
    return np.clip(array / top, 0.0, 1.0)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB (alpha composited on white, high bit depths rescaled)."""
    if image.mode in DEEP_MODES:
        image = Image.fromarray((unit_range(np.asarray(image), image.mode) * 255.0 + 0.5).astype(np.uint8), "L")
    if has_alpha(image):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB") if image.mode != "RGB" else image


def has_alpha(image: Image.Image) -> bool:
    """Whether a PIL image has an alpha channel or a transparent palette entry."""
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def sixteen_bit_colour(image: Image.Image) -> bool:
    """Whether an opened (not yet loaded) PNG or TIFF stores 16-bit colour, which PIL would decode to 8 bits."""
    return image.format in ("PNG", "TIFF") and any(";16" in str(tile.args) for tile in image.tile)


@contextmanager
def decoding(label: str) -> Iterator[None]:
    """Turn a decoder's failure into an :class:`ImageReadError` naming ``label``."""
    try:
        yield
    except ImageReadError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageReadError(f"{label}: image too large to decode safely ({error})") from error
    except (OSError, ValueError, SyntaxError, cv2.error) as error:
        raise ImageReadError(f"{label}: cannot read image ({error})") from error


def check_size(width: int, height: int, label: str) -> None:
    if width == 0 or height == 0:
        raise ImageReadError(f"{label}: image has zero size {width}x{height}")


def open_image(source: str | os.PathLike | bytes, name: str | None = None) -> Image.Image:
    """Decode a file path or encoded bytes to an RGB PIL image, upright per EXIF."""
    label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise FileNotFoundError(f"image not found: {label}")
    with decoding(label), Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        image.load()
        rgb = to_rgb(ImageOps.exif_transpose(image))
    check_size(rgb.width, rgb.height, label)
    return rgb


def deep_array(path: Path, image: Image.Image) -> np.ndarray:
    """The samples of an opened image of more than 8 bits as float32 ``(H, W, C)`` in [0, 1], upright per EXIF;
    ``C`` is 1 (greyscale, decoded by PIL), 3 (RGB) or 4 (RGBA, both decoded by OpenCV)."""
    if image.mode in DEEP_MODES:
        array = unit_range(np.asarray(image), image.mode)[..., None]
    else:
        array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if array is None or array.ndim != 3 or array.dtype != np.uint16:
            raise ValueError("OpenCV cannot decode its 16-bit colour")
        array = array[..., [2, 1, 0, 3][: array.shape[-1]]].astype(np.float32) / np.float32(65535)  # BGR(A) -> RGB(A)
    orientation = image.getexif().get(ORIENTATION, 1)
    return np.ascontiguousarray(UPRIGHT.get(orientation, np.asarray)(array), dtype=np.float32)


def resized_size(width: int, height: int, size: int | None) -> tuple[tuple[int, int], Image.Resampling] | None:
    """The ``(width, height)`` of longest side ``size`` and the filter resizing to it; None for no resize."""
    if size is None or max(width, height) == size:
        return None
    scale = size / max(width, height)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    return new, Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS


def resize_longest(image: Image.Image, size: int | None) -> Image.Image:
    """Resize so that the longest side is ``size`` (no-op for None)."""
    resize = resized_size(image.width, image.height, size)
    return image if resize is None else image.resize(*resize)


def resize_planes(array: np.ndarray, size: int | None) -> np.ndarray:
    """Resize float ``(H, W, C)`` in [0, 1] plane by plane (PIL mode ``F``) to longest side ``size``."""
    resize = resized_size(array.shape[1], array.shape[0], size)
    if resize is None:
        return array
    planes = [np.asarray(Image.fromarray(array[..., c], "F").resize(*resize)) for c in range(array.shape[-1])]
    return np.clip(np.stack(planes, axis=-1), 0.0, 1.0)


def eight_bit_channels(image: Image.Image, size: int | None, label: str) -> Tensor:
    """An opened image of 8 bits per sample as ``(3 or 4, H, W)`` RGB(A) in [0, 1], upright, resized."""
    image.load()
    upright = ImageOps.exif_transpose(image)
    decoded = upright.convert("RGBA") if has_alpha(upright) else to_rgb(upright)
    check_size(decoded.width, decoded.height, label)
    return pil_to_tensor(resize_longest(decoded, size))


def deep_channels(path: Path, image: Image.Image, size: int | None) -> Tensor:
    """An opened image of more than 8 bits per sample as ``(C, H, W)`` in [0, 1] (``C`` as in :func:`deep_array`),
    upright, resized."""
    array = deep_array(path, image)
    check_size(array.shape[1], array.shape[0], str(path))
    return torch.from_numpy(resize_planes(array, size)).permute(2, 0, 1).contiguous()


def read_picture(path: str | os.PathLike, size: int | None = None) -> Picture:
    """Read ``path`` with its alpha and bit depth (see the module docstring), upright per EXIF and optionally
    resized to longest side ``size``; greyscale becomes RGB."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    with decoding(str(path)), Image.open(path) as image:
        deep = image.mode in DEEP_MODES or sixteen_bit_colour(image)
        channels = deep_channels(path, image, size) if deep else eight_bit_channels(image, size, str(path))
    rgb = channels[:3] if len(channels) >= 3 else channels.expand(3, -1, -1).contiguous()
    return Picture(rgb, channels[3:] if len(channels) == 4 else None, 16 if deep else 8)


def pil_to_tensor(image: Image.Image) -> Tensor:
    """RGB (or RGBA) PIL image -> ``(3, H, W)`` (or ``(4, H, W)``) float32 in [0, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def tensor_to_pil(image: Tensor) -> Image.Image:
    """``(3, H, W)`` (or ``(4, H, W)``) in [0, 1] -> RGB (or RGBA) PIL image."""
    array = image.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array, "RGBA" if len(image) == 4 else "RGB")


def load_image(path: str | os.PathLike, size: int | None = None) -> Tensor:
    """Read ``path`` as ``(3, H, W)`` float in [0, 1], optionally resized to longest side ``size``."""
    return pil_to_tensor(resize_longest(open_image(path), size))


def write_atomically(path: str | os.PathLike, write: Callable[[str], object]) -> Path:
    """Call ``write(temporary file name)`` in ``path``'s folder, then rename it to ``path`` (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}{path.suffix}")  # created by write, per the umask
    try:
        write(str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_image(image: Tensor, path: str | os.PathLike) -> Path:
    """Write ``(3, H, W)`` in [0, 1] to ``path`` atomically (format from the suffix)."""
    return write_atomically(path, tensor_to_pil(image).save)


def write_sixteen_bit(channels: Tensor, path: str) -> None:
    """Write ``(3 or 4, H, W)`` in [0, 1] as 16-bit RGB(A) through OpenCV (format from the suffix)."""
    array = channels.detach().float().clamp(0, 1).mul(65535).round().to(torch.int32).permute(1, 2, 0).cpu().numpy()
    if not cv2.imwrite(path, array.astype(np.uint16)[..., [2, 1, 0, 3][: len(channels)]]):  # RGB(A) -> BGR(A)
        raise OSError(f"OpenCV cannot write {path}")


def save_picture(picture: Picture, path: str | os.PathLike) -> list[str]:
    """Write ``picture`` to ``path`` atomically, keeping its alpha and 16 bits where the suffix's format holds
    them (:data:`ALPHA_SUFFIXES`, :data:`DEEP_SUFFIXES`); returns one line for each thing it had to drop."""
    suffix, notes = Path(path).suffix.lower(), []
    rgb, alpha = picture.rgb, picture.alpha
    if alpha is not None and suffix not in ALPHA_SUFFIXES:
        rgb, alpha = torch.lerp(torch.ones_like(rgb), rgb, alpha), None
        notes.append(f"dropped the alpha channel (composited on white): {suffix} holds no alpha")
    channels = rgb if alpha is None else torch.cat([rgb, alpha])
    if picture.bits > 8 and suffix in DEEP_SUFFIXES:
        write_atomically(path, lambda tmp: write_sixteen_bit(channels, tmp))
        return notes
    if picture.bits > 8:
        notes.append(f"reduced {picture.bits}-bit samples to 8 bits: {suffix} holds 8")
    write_atomically(path, tensor_to_pil(channels).save)
    return notes
