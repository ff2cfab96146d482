"""Gram-matrix style loss (Gatys et al. 2016; Johnson et al. 2016)."""

from __future__ import annotations

import torch
from torch import Tensor

from stylenet.losses.base import TapStyleLoss


def channel_rows(features: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, C, H*W)`` without a copy for contiguous and channels-last inputs."""
    b, c, h, w = features.shape
    if features.is_contiguous():
        return features.reshape(b, c, h * w)
    return features.permute(0, 2, 3, 1).reshape(b, h * w, c).transpose(1, 2)


class _SymmetricGram(torch.autograd.Function):
    """``scale * F F^T`` for ``F`` ``(B, C, N)``, differentiated as ``scale * (G' + G'^T) F``: one batched
    matmul backward instead of one per operand, laid out like ``F``."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, rows: Tensor, scale: float) -> Tensor:
        ctx.save_for_backward(rows)
        ctx.scale = scale
        return torch.bmm(rows, rows.transpose(1, 2)).mul_(scale)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:
        (rows,) = ctx.saved_tensors
        symmetric = (grad + grad.transpose(1, 2)) * ctx.scale
        if rows.stride(-1) == 1:
            return torch.bmm(symmetric, rows), None
        return torch.bmm(rows.transpose(1, 2), symmetric).transpose(1, 2), None  # channels-last rows


def gram_matrix(features: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, C, C)``: ``F F^T / (C H W)``."""
    c, h, w = features.shape[1:]
    return _SymmetricGram.apply(channel_rows(features), 1.0 / (c * h * w))


class GramLoss(TapStyleLoss):
    """``weight * sum_l w_l * mean((G_l(output) - G_l(style))^2)`` over the given taps (:func:`gram_matrix`)."""

    name = "gram"

    def statistic(self, features: Tensor) -> Tensor:
        return gram_matrix(features)
