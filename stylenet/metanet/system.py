"""LightningModule that trains a meta network: one model for any style, no retraining per style."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import lightning as L
import torch
from torch import Tensor

from stylenet import __version__
from stylenet.losses import PerceptualLoss
from stylenet.models.metanet import JOHNSON_TAPS, MetaTransformNet, StyleEmbedding, gain
from stylenet.system import OptimizerFactory, Stylizer, log_terms

log = logging.getLogger(__name__)


class MetaStylizer(L.LightningModule):
    """Trains ``net`` so that ``net(content, embedding(style))`` minimises ``loss`` for every style.

    Batches are ``{"content": (B, 3, H, W), "style": (S, 3, h, w)}`` (see
    :class:`~stylenet.data.content_style.ContentStyleDataModule`); each style's statistics become
    the loss's per-sample targets. Checkpoints hold ``net``'s weights (not the frozen encoder's) and
    ``checkpoint["stylenet"]`` = ``{version, config, metanet: {arch, taps}}``.

    Args:
        net: the meta network and its template transform net.
        loss: perceptual loss; its encoder also computes the style embedding.
        embedding_taps: encoder taps of the style embedding.
        embedding_size: longest side of the style images the embedding reads (``None``: the crops as given).
        optimizer: ``partial`` optimizer taking the parameters.
        scheduler: optional ``partial`` LR scheduler taking the optimizer; stepped every step.
    """

    def __init__(
        self,
        net: MetaTransformNet,
        loss: PerceptualLoss,
        embedding_taps: Iterable[str] = JOHNSON_TAPS,
        embedding_size: int | None = None,
        optimizer: OptimizerFactory = partial(torch.optim.Adam, lr=1e-3),
        scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.loss = loss
        self.embedding = StyleEmbedding(loss.encoder, embedding_taps, embedding_size)
        if self.embedding.dim != net.embedding_dim:
            raise ValueError(
                f"taps {list(self.embedding.taps)} give a {self.embedding.dim}-long style embedding but the "
                f"meta network takes {net.embedding_dim} (set model.embedding_dim={self.embedding.dim})"
            )
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.run_config: dict[str, Any] = {}  # the resolved run config, stored in checkpoints
        self.strict_loading = False  # the frozen encoder is not saved; the net is checked in on_load_checkpoint

    def forward(self, images: Tensor, styles: Tensor) -> Tensor:
        """Stylise ``images`` ``(B, 3, H, W)`` with ``styles`` ``(S, 3, h, w)``, ``S`` = 1 or dividing ``B``."""
        with torch.no_grad():
            embedding = self.embedding(styles)
        return self.net(images, embedding)

    def _step(self, batch: dict[str, Tensor], stage: str) -> Tensor | None:
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
        terms = self.loss(self.net.stylize(content, params), content)
        gains = torch.stack([gain(params[f"{conv}.weight"]).mean() for conv in self.net.convs]).mean().detach()
        self.log(f"{stage}/generated_gain", gains, batch_size=b, sync_dist=stage != "train")
        log_terms(self, terms, stage, b)
        return terms["total"]

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor | None:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    # the same optimiser set-up and checkpoint architecture check as the single-style Stylizer
    configure_optimizers = Stylizer.configure_optimizers
    on_load_checkpoint = Stylizer.on_load_checkpoint

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
        embedding = self.embedding
        metanet = {"arch": self.loss.encoder.arch, "taps": list(embedding.taps), "embedding_size": embedding.size}
        checkpoint["stylenet"] = {"version": __version__, "config": self.run_config, "metanet": metanet}
