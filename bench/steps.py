"""The training steps bench/train_step.py times and tests/test_train_step_numerics.py compares.

:func:`stylizer_step` is the library's (:meth:`stylenet.systems.Stylizer.loss_terms`, as Lightning runs it),
:func:`metanet_step` the meta network's (:meth:`stylenet.systems.MetaStylizer.step`).
:func:`plain_step` is the plain eager fp32 NCHW step of pytorch/examples' fast_neural_style computing the same
loss terms with the same weights the straightforward way: a second, NCHW VGG runs to the deepest tap of all on
both the output and the content, the Gram matrices are a plain batched matmul and the style targets are
computed once; the content and total-variation terms are the library's.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from stylenet.losses import GramLoss, PerceptualLoss, StyleLoss
from stylenet.systems import MetaStylizer, Stylizer
from stylenet.vgg import VGGEncoder


def plain_gram(features: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, C, C)``: ``F F^T / (C H W)`` by one batched matmul, differentiated by autograd."""
    b, c, h, w = features.shape
    rows = features.reshape(b, c, h * w)
    return torch.bmm(rows, rows.transpose(1, 2)) / (c * h * w)


def plain_statistics(loss: StyleLoss, features: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Style statistics of ``loss`` from NCHW ``features``: Gram matrices by :func:`plain_gram`, any other style
    loss's statistics as it defines them."""
    if isinstance(loss, GramLoss):
        return {tap: plain_gram(features[tap]) for tap in loss.layers}
    return loss.statistics(features)


class PlainPerceptualLoss(nn.Module):
    """The terms of ``loss`` (same names, same weights) computed plainly on a separate NCHW encoder.

    Args:
        loss: the perceptual loss to mirror (its weights, taps and style losses; its encoder is not used).
        weights: VGG weights of ``loss``'s encoder (a file or a torchvision weights-enum name).
        style: ``(1, 3, H, W)`` style image in [0, 1]; its statistics are computed once here, and the module
            lives on its device.

    ``forward(output, content)`` on ``(B, 3, H, W)`` images returns ``{term name: scalar, "total": scalar}``.
    """

    def __init__(self, loss: PerceptualLoss, weights: str, style: Tensor) -> None:
        super().__init__()
        self.loss = loss
        taps = dict.fromkeys(loss.style_taps + loss.content_taps)
        self.encoder = VGGEncoder(loss.encoder.arch, weights, taps).to(style.device)
        with torch.no_grad():
            features = self.encoder(style)
            self.targets = [plain_statistics(style_loss, features) for style_loss in loss.style]

    def forward(self, output: Tensor, content: Tensor) -> dict[str, Tensor]:
        features, content_features = self.encoder(output), self.encoder(content)
        terms: dict[str, Tensor] = {}
        if self.loss.content is not None:
            terms.update(self.loss.content(features, content_features))
        for style_loss, targets in zip(self.loss.style, self.targets, strict=True):
            weights = style_loss.term_weights()
            for key, value in plain_statistics(style_loss, features).items():
                squared_error = (value - targets[key]).pow(2).mean()
                terms[f"{style_loss.name}/{key}"] = style_loss.weight * weights[key] * squared_error
        if self.loss.tv is not None:
            terms.update(self.loss.tv(output))
        terms["total"] = torch.stack(list(terms.values())).sum()
        return terms


def plain_step(
    net: nn.Module, loss: PlainPerceptualLoss, optimizer: torch.optim.Optimizer, images: Tensor
) -> dict[str, Tensor]:
    """One optimisation step of ``net`` on ``(B, 3, H, W)`` ``images``; returns the detached loss terms."""
    optimizer.zero_grad(set_to_none=True)
    terms = loss(net(images), images)
    terms["total"].backward()
    optimizer.step()
    return {name: value.detach() for name, value in terms.items()}


def stylizer_step(
    system: Stylizer, optimizer: torch.optim.Optimizer, images: Tensor, autocast: torch.dtype | None = None
) -> dict[str, Tensor]:
    """One step of ``system``'s network on ``images``, in ``autocast`` mixed precision if given (e.g. bf16 on GPU,
    as Lightning's ``precision="bf16-mixed"``); returns the detached loss terms."""
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(images.device.type, dtype=autocast, enabled=autocast is not None):
        terms = system.loss_terms(images)
    terms["total"].backward()
    optimizer.step()
    return {name: value.detach() for name, value in terms.items()}


def metanet_step(
    system: MetaStylizer,
    optimizer: torch.optim.Optimizer,
    batch: dict[str, Tensor],
    autocast: torch.dtype | None = None,
) -> Tensor:
    """One step of ``system``'s meta network on ``{"content": (B, 3, H, W), "style": (S, 3, h, w)}``, in
    ``autocast`` mixed precision if given; returns the detached total loss."""
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast(batch["content"].device.type, dtype=autocast, enabled=autocast is not None):
        total = system.step(batch, "train")
    total.backward()
    optimizer.step()
    return total.detach()
