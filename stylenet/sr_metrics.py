"""Super-resolution metrics as the field computes them (BasicSR's conventions), through torchmetrics.

Images are ``(B, 3, H, W)`` RGB in [0, 1]. Both are quantised to 8 bits, the ground truth is cropped to a
multiple of the scale beforehand (:func:`crop_to_scale`), and PSNR and SSIM are computed on the luma of
BT.601 (``Y`` in [16, 235]) with ``scale`` pixels cropped at every border.
"""

from __future__ import annotations

from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

BT601_Y = (65.481, 128.553, 24.966)  # RGB in [0, 1] -> Y - 16 in [0, 219]


def crop_to_scale(images: Tensor, scale: int) -> Tensor:
    """Crop ``(..., H, W)`` at the bottom and right to multiples of ``scale``."""
    h, w = images.shape[-2:]
    return images[..., : h - h % scale, : w - w % scale]


def luma(images: Tensor) -> Tensor:
    """``(B, 3, H, W)`` RGB in [0, 1] -> ``(B, 1, H, W)`` BT.601 Y in [16, 235] of the 8-bit image."""
    rgb = (images.clamp(0, 1) * 255).round().double() / 255
    r, g, b = rgb.unbind(1)
    return (16 + BT601_Y[0] * r + BT601_Y[1] * g + BT601_Y[2] * b)[:, None]


def _shaved_luma(output: Tensor, target: Tensor, scale: int) -> tuple[Tensor, Tensor]:
    if output.shape != target.shape:
        raise ValueError(f"output {tuple(output.shape)} and ground truth {tuple(target.shape)} differ in shape")
    shave = (slice(None), slice(None), slice(scale, -scale or None), slice(scale, -scale or None))
    return luma(output)[shave], luma(target)[shave]


def psnr_y(output: Tensor, target: Tensor, scale: int) -> Tensor:
    """Mean PSNR (dB) over the batch on Y, ``scale`` border pixels cropped."""
    out, ref = _shaved_luma(output, target, scale)
    return peak_signal_noise_ratio(out, ref, data_range=255.0, reduction="elementwise_mean", dim=(1, 2, 3)).float()


def ssim_y(output: Tensor, target: Tensor, scale: int) -> Tensor:
    """Mean SSIM over the batch on Y (Gaussian window 11, sigma 1.5), ``scale`` border pixels cropped."""
    out, ref = _shaved_luma(output, target, scale)
    return structural_similarity_index_measure(out, ref, data_range=255.0).float()
