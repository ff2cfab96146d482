"""LightningModule that trains a meta network: one model for any style, no retraining per style."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.utils import make_grid

from stylenet.losses import PerceptualLoss, TemporalLoss
from stylenet.models.meta_transform_net import JOHNSON_TAPS, MetaTransformNet, StyleEmbedding, gain
from stylenet.systems.perceptual_system import OptimizerFactory, PerceptualSystem, SchedulerFactory

log = logging.getLogger(__name__)


class MetaStylizer(PerceptualSystem):
    """Trains ``net`` so that ``net(content, embedding(style))`` minimises ``loss`` for every style.

    Batches are ``{"content": (B, 3, H, W), "style": (S, 3, h, w)}`` (see
    :class:`~stylenet.data.content_style.ContentStyleDataModule`); each style's statistics become
    the loss's per-sample targets. Checkpoints (kind ``metanet``) add ``metanet``: the encoder's arch and
    weights, the embedding's taps and size, and the style size it was trained at.

    Args:
        net: the meta network and its template transform net.
        loss: perceptual loss; its encoder also computes the style embedding.
        embedding_taps: encoder taps of the style embedding.
        embedding_size: longest side of the style images the embedding reads (``None``: the crops as given).
        style_size: longest side of the style images in training (recorded for inference).
        content_size: shorter side of the content photos in training (recorded: ``stylenet stylize`` runs larger
            photos at it, :attr:`~stylenet.inference.StyleOptions.working_size`).
        optimizer, scheduler, temporal: as :class:`~stylenet.systems.PerceptualSystem`.
    """

    kind = "metanet"

    def __init__(
        self,
        net: MetaTransformNet,
        loss: PerceptualLoss,
        embedding_taps: Iterable[str] = JOHNSON_TAPS,
        embedding_size: int | None = None,
        style_size: int | None = None,
        content_size: int | None = None,
        optimizer: OptimizerFactory = partial(torch.optim.Adam, lr=1e-3),
        scheduler: SchedulerFactory | None = None,
        temporal: TemporalLoss | None = None,
    ) -> None:
        super().__init__(net, loss, optimizer, scheduler, temporal)
        self.embedding = StyleEmbedding(loss.encoder, embedding_taps, embedding_size)
        self.style_size, self.content_size = style_size, content_size
        if self.embedding.dim != net.embedding_dim:
            raise ValueError(
                f"taps {list(self.embedding.taps)} give a {self.embedding.dim}-long style embedding but the "
                f"meta network takes {net.embedding_dim} (set model.embedding_dim={self.embedding.dim})"
            )

    def forward(self, images: Tensor, styles: Tensor) -> Tensor:
        """Stylise ``images`` ``(B, 3, H, W)`` with ``styles`` ``(S, 3, h, w)``, ``S`` = 1 or dividing ``B``."""
        with torch.no_grad():
            embedding = self.embedding(styles)
        return self.net(images, embedding)

    def step(self, batch: dict[str, Tensor], stage: str) -> Tensor | None:
        content, styles = batch["content"], batch["style"]
        if content.numel() == 0 or styles.numel() == 0:  # unreadable images (each one was logged)
            return None
        b, s = content.shape[0], styles.shape[0]
        if b % s:
            log.warning("skipping a batch of %d content images and %d styles (some images were unreadable)", b, s)
            return None
        with torch.no_grad():  # one VGG pass serves the embedding and the style targets if it reads the same size
            small = self.embedding.resize(styles)
            shared = small is styles
            taps = (*self.embedding.taps, *self.loss.style_taps) if shared else self.loss.style_taps
            features = self.loss.encoder(styles, tuple(dict.fromkeys(taps)))
            embedding = self.embedding.embed(features if shared else self.loss.encoder(small, self.embedding.taps))
            per_sample = {tap: f.repeat_interleave(b // s, dim=0) for tap, f in features.items()} if s > 1 else features
            self.loss.set_style_features(per_sample)
        params = self.net.generate(self.net.code(embedding))
        stylized = self.net.stylize(content, params)
        net = partial(self.net.stylize, params=params)
        terms = self.add_temporal(self.loss(stylized, content), net, content, stylized, stage)
        gains = torch.stack([gain(params[f"{conv}.weight"]).mean() for conv in self.net.convs]).mean().detach()
        self.log(f"{stage}/generated_gain", gains, batch_size=b, sync_dist=stage != "train")
        self.log_terms(terms, stage, b)
        return terms["total"]

    @torch.no_grad()
    def sample_grid(self, datamodule: L.LightningDataModule, num_images: int) -> Tensor:
        """Top row: the first ``num_images`` validation styles; each row below: one validation content image
        stylised with each of those styles. Needs a :class:`~stylenet.data.content_style.PairedCrops` ``val_set``."""
        pairs = datamodule.val_set
        n = min(num_images, len(pairs.content), len(pairs.style))
        content = torch.stack([pairs.content[i] for i in range(n)]).to(self.device)
        styles = torch.stack([pairs.style[i] for i in range(n)]).to(self.device)
        rows = [F.interpolate(styles, size=content.shape[-2:], mode="bilinear", antialias=True)]
        rows += [self(image.expand(n, -1, -1, -1), styles) for image in content]
        return make_grid(torch.cat(rows).cpu(), nrow=n, padding=2, pad_value=1.0)

    def checkpoint_entries(self) -> dict[str, Any]:
        encoder, embedding = self.loss.encoder, self.embedding
        metanet = {
            "arch": encoder.arch,
            "weights": encoder.weights,
            "taps": list(embedding.taps),
            "embedding_size": embedding.size,
            "style_size": self.style_size,
            "content_size": self.content_size,
        }
        return {"metanet": metanet}
