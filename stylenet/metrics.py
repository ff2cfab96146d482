"""Style-transfer quality metrics: VGG content distance, LPIPS-VGG, Gram style distance, edge-structure SSIM.

Images are ``(B, 3, H, W)`` RGB in [0, 1]; features are ``{tap: (B, C, H, W)}`` from a VGG16
:class:`~stylenet.vgg.VGGEncoder`. Every metric returns one value per image, ``(B,)``.

LPIPS (Zhang et al. 2018) feeds its VGG16 images in [-1, 1] through a scaling layer with shift
``(-0.030, -0.088, -0.188)`` and scale ``(0.458, 0.448, 0.450)``. For ``x`` in [0, 1] that is
``(2x - 1 - shift) / scale = (x - 0.485, 0.456, 0.406) / (0.229, 0.224, 0.225)``: exactly the ImageNet
normalisation the encoder already applies, so images in [0, 1] go to the encoder unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from stylenet.color import RGB_TO_YCBCR
from stylenet.losses.gram import gram_matrix

LPIPS_TAPS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
STYLE_TAPS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
EPS = 1e-10  # LPIPS's epsilon in its channel normalisation

# Sobel derivative kernels divided by 4: a sharp unit step in brightness has edge magnitude 1.
SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4


def relative_error(output: Tensor, target: Tensor) -> Tensor:
    """``||output - target|| / ||target||`` per item: ``(B, ...)`` against ``(B or 1, ...)`` -> ``(B,)``."""
    return (output - target).flatten(1).norm(dim=1) / target.flatten(1).norm(dim=1).clamp_min(EPS)


def content_distance(output: Mapping[str, Tensor], content: Mapping[str, Tensor], tap: str) -> Tensor:
    """Relative feature error ``||F(output) - F(content)|| / ||F(content)||`` at ``tap`` -> ``(B,)``."""
    return relative_error(output[tap], content[tap])


def style_distance(
    output: Mapping[str, Tensor], style: Mapping[str, Tensor], taps: Sequence[str] = STYLE_TAPS
) -> Tensor:
    """Relative Gram error ``||G(output) - G(style)||_F / ||G(style)||_F`` averaged over ``taps`` -> ``(B,)``.

    Gram matrices are ``(C, C)`` whatever the image size, so the style image may have any size.
    """
    return gram_distance(output, style_grams(style, taps))


def style_grams(style: Mapping[str, Tensor], taps: Sequence[str] = STYLE_TAPS) -> dict[str, Tensor]:
    """The Gram matrices ``{tap: (B, C, C)}`` of a style image's features: the targets of :func:`gram_distance`."""
    return {tap: gram_matrix(style[tap]) for tap in taps}


def gram_distance(output: Mapping[str, Tensor], grams: Mapping[str, Tensor]) -> Tensor:
    """:func:`style_distance` against precomputed :func:`style_grams`, averaged over their taps -> ``(B,)``."""
    return torch.stack([relative_error(gram_matrix(output[tap]), gram) for tap, gram in grams.items()]).mean(0)


def load_lpips_heads(path: str | os.PathLike) -> dict[str, Tensor]:
    """LPIPS v0.1 VGG linear heads ``{tap: (1, C, 1, 1)}`` from a state dict with keys ``linN.model.1.weight``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LPIPS weights not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        heads = {tap: state[f"lin{i}.model.1.weight"].float() for i, tap in enumerate(LPIPS_TAPS)}
    except Exception as error:  # unreadable file or missing keys: not LPIPS weights
        raise ValueError(f"{path} does not hold LPIPS VGG heads (lin0..lin4.model.1.weight): {error}") from error
    return heads


def unit_channels(features: Tensor) -> Tensor:
    """``(B, C, H, W)`` scaled so that each pixel's channel vector has unit length."""
    return features / (features.pow(2).sum(1, keepdim=True).sqrt() + EPS)


def lpips_distance(output: Mapping[str, Tensor], target: Mapping[str, Tensor], heads: Mapping[str, Tensor]) -> Tensor:
    """LPIPS: over the heads' taps, the squared difference of unit-normalised features, weighted per
    channel by the head ``(1, C, 1, 1)``, summed over channels, averaged over pixels, summed over taps -> ``(B,)``."""
    per_tap = [
        ((unit_channels(output[t]) - unit_channels(target[t])).pow(2) * w.to(output[t])).sum(1).mean((1, 2))
        for t, w in heads.items()
    ]
    return torch.stack(per_tap).sum(0)


def edge_magnitude(images: Tensor) -> Tensor:
    """Sobel gradient magnitude of the luma (BT.601 Y) of ``(B, 3, H, W)`` -> ``(B, 1, H, W)``."""
    luma = torch.einsum("c,bchw->bhw", RGB_TO_YCBCR[0].to(images), images)[:, None]
    padded = F.pad(luma, (1, 1, 1, 1), mode="replicate")
    kernels = torch.stack([SOBEL_X, SOBEL_X.T])[:, None].to(images)
    gradients = F.conv2d(padded, kernels)
    return torch.hypot(gradients[:, :1], gradients[:, 1:])


def ssim(x: Tensor, y: Tensor, window: int = 11, sigma: float = 1.5, data_range: float = 1.0) -> Tensor:
    """Mean SSIM (Wang et al. 2004: Gaussian window, K1 = 0.01, K2 = 0.03, valid positions only) of
    ``(B, C, H, W)`` pairs -> ``(B,)``."""
    if min(x.shape[-2:]) < window:
        raise ValueError(f"SSIM needs images of at least {window}x{window} pixels, got {tuple(x.shape[-2:])}")
    coords = torch.arange(window, dtype=x.dtype, device=x.device) - (window - 1) / 2
    gauss = torch.exp(-(coords**2) / (2 * sigma**2))
    gauss = gauss / gauss.sum()
    kernel = (gauss[:, None] * gauss[None, :]).expand(x.shape[1], 1, window, window)

    def blur(image: Tensor) -> Tensor:
        return F.conv2d(image, kernel, groups=x.shape[1])

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x, var_y = blur(x * x) - mu_x**2, blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return index.flatten(1).mean(1)


def edge_ssim(output: Tensor, content: Tensor) -> Tensor:
    """SSIM between the Sobel edge magnitudes of the output's and the content's luma, ``(B, 3, H, W)`` each
    -> ``(B,)``: 1 when the output keeps the content's edges exactly."""
    return ssim(edge_magnitude(output), edge_magnitude(content))
