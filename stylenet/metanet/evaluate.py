"""Held-out scores of an arbitrary-style network: how much closer to the style, how far from the photo."""

from __future__ import annotations

import torch
from torch import Tensor

from stylenet.losses import GramLoss
from stylenet.metanet.inference import ArbitraryStyleNet
from stylenet.models.metanet import JOHNSON_TAPS
from stylenet.vgg import VGGEncoder


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
