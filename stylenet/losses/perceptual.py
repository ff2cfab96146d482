"""Perceptual loss: one encoder, a content loss, any number of style losses, total variation, a pixel loss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from stylenet.losses.base import StyleLoss
from stylenet.losses.content import ContentLoss
from stylenet.losses.pixel import PixelLoss
from stylenet.losses.tv import TotalVariationLoss
from stylenet.vgg import VGGEncoder


class PerceptualLoss(nn.Module):
    """Weighted sum of content, style, total-variation and pixel terms on one frozen encoder.

    The pixel term compares ``output`` with ``content`` itself (super-resolution's per-pixel baseline).
    ``forward(output, content)`` returns ``{"total": scalar, term name: scalar, ...}``; the output's
    features are computed once for every tap, the content's without autograd and only to the
    content taps. Style targets come from :meth:`set_style` and are not saved in state dicts.
    """

    def __init__(
        self,
        encoder: VGGEncoder,
        content: ContentLoss | None = None,
        style: Sequence[StyleLoss] = (),
        tv: TotalVariationLoss | None = None,
        pixel: PixelLoss | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.content = content
        self.style = nn.ModuleList(style)
        self.tv = tv
        self.pixel = pixel
        for loss in self.feature_losses():
            loss.bind(encoder)
        self.style_taps = tuple(dict.fromkeys(t for loss in self.style for t in loss.taps))
        self.content_taps = content.taps if content is not None else ()

    def feature_losses(self) -> list[nn.Module]:
        return ([self.content] if self.content is not None else []) + list(self.style)

    @torch.no_grad()
    def set_style(self, images: Tensor) -> None:
        """Compute the style targets from ``(1 or B, 3, H, W)`` style images in [0, 1]."""
        self.set_style_features(self.encoder(images, self.style_taps))

    def set_style_features(self, features: Mapping[str, Tensor]) -> None:
        """Set the style targets from encoder features ``{tap: (1 or B, C, H, W)}`` holding :attr:`style_taps`."""
        for loss in self.style:
            loss.set_target(features)

    @torch.no_grad()
    def set_content(self, images: Tensor) -> None:
        """Fix the content to ``(1 or B, 3, H, W)`` images in [0, 1]: their features are computed once here
        and :meth:`forward` uses them whenever it is called without ``content``."""
        if self.content is None:
            raise RuntimeError("this PerceptualLoss has no content term")
        self.content.set_target(self.encoder(images, self.content_taps))

    def forward(self, output: Tensor, content: Tensor | None = None, with_style: bool = True) -> dict[str, Tensor]:
        """Loss terms for ``output`` ``(B, 3, H, W)`` against ``content`` (same shape; default: the content
        fixed by :meth:`set_content`, if any) and, unless ``with_style`` is False, the style (the encoder then
        runs only to the content taps)."""
        with_content = self.content is not None and (content is not None or self.content.has_target)
        style = self.style if with_style else ()
        taps = (self.style_taps if with_style else ()) + (self.content_taps if with_content else ())
        features = self.encoder(output, dict.fromkeys(taps))
        terms: dict[str, Tensor] = {}
        if with_content:
            target = None
            if content is not None:
                with torch.no_grad():
                    target = self.encoder(content, self.content_taps)
            terms.update(self.content(features, target))
        for loss in style:
            terms.update(loss(features))
        if self.tv is not None:
            terms.update(self.tv(output))
        if self.pixel is not None:
            if content is None:
                raise ValueError("the pixel term needs the target images as content")
            terms.update(self.pixel(output, content))
        terms["total"] = torch.stack(list(terms.values())).sum() if terms else output.new_zeros(())
        return terms
