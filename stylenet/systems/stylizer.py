"""LightningModule that trains one feed-forward stylizer for one style (Johnson et al. 2016)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchvision.utils import make_grid

from stylenet.checkpoint import file_sha256
from stylenet.imageio import load_image
from stylenet.losses import PerceptualLoss, TemporalLoss
from stylenet.metrics import STYLE_TAPS, content_distance, style_distance
from stylenet.systems.perceptual_system import OptimizerFactory, PerceptualSystem, SchedulerFactory


def use_channels_last(encoder: nn.Module, net: nn.Module) -> None:
    """Put ``encoder`` and the convolutions of ``net`` that output RGB in the channels-last memory format.

    A conv whose weight is channels-last runs channels-last, whatever its input's layout. On a 2-core AVX2 CPU
    (oneDNN, batch 4 at 256x256) the VGG forward and backward run ~1.6x faster in it and the Johnson net's 9x9
    32->3 output conv ~4.7x, while the network's other convs and its instance norms are faster in NCHW.
    """
    encoder.to(memory_format=torch.channels_last)
    for conv in net.modules():
        if isinstance(conv, nn.Conv2d) and conv.out_channels <= 3:
            conv.to(memory_format=torch.channels_last)


class Stylizer(PerceptualSystem):
    """Trains ``net`` (e.g. :class:`~stylenet.models.TransformNet`) to minimise ``loss`` for one style.

    Batches are content images ``(B, 3, H, W)`` in [0, 1]. Checkpoints (kind ``stylizer``) add the style
    image's name, hash and size.

    Args:
        net: image -> image network, ``(B, 3, H, W)`` in [0, 1] both ways.
        loss: perceptual loss; its style targets are set here from ``style_image``.
        style_image: path of the style image.
        style_size: longest side the style image is resized to (None keeps it).
        optimizer, scheduler: as :class:`~stylenet.systems.PerceptualSystem`.
        channels_last: run the frozen encoder and the network's RGB-output convolutions in the channels-last
            memory format (see :func:`use_channels_last`; the same numbers up to float rounding).
        compile: ``torch.compile`` the network and the loss (their state dict keys are unchanged).
        temporal: as :class:`~stylenet.systems.PerceptualSystem` (stability on video, learned from photos).
        content_only_steps: train the first this many steps on the content (and TV) terms alone, so that the
            style terms start on a net that already reproduces its photos; validation always scores every term.
    """

    kind = "stylizer"

    def __init__(
        self,
        net: nn.Module,
        loss: PerceptualLoss,
        style_image: str | Path,
        style_size: int | None = 512,
        optimizer: OptimizerFactory = partial(torch.optim.Adam, lr=1e-3),
        scheduler: SchedulerFactory | None = None,
        channels_last: bool = False,
        compile: bool = False,
        temporal: TemporalLoss | None = None,
        content_only_steps: int = 0,
    ) -> None:
        super().__init__(net, loss, optimizer, scheduler, temporal)
        self.content_only_steps = content_only_steps
        if channels_last:
            use_channels_last(self.loss.encoder, self.net)
        if compile:
            self.net.compile()
            self.loss.compile()
        style = load_image(style_image, style_size)[None]
        self.loss.set_style(style)
        self.register_buffer("style_image", style, persistent=False)
        self.style_features: dict[str, Tensor] = {}  # of the style image at the scoring taps, per validation
        self.style = {"image": Path(style_image).name, "sha256": file_sha256(style_image), "size": style_size}

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)

    def loss_terms(self, images: Tensor) -> dict[str, Tensor]:
        """``{"total": scalar, term name: scalar, ...}`` of the stylised ``(B, 3, H, W)`` ``images``."""
        return self.loss(self.net(images), images)

    def step(self, images: Tensor, stage: str) -> Tensor | None:
        if images.numel() == 0:  # every image of the batch was unreadable (each one was logged)
            return None
        stylized = self.net(images)
        with_style = stage != "train" or self.global_step >= self.content_only_steps
        terms = self.add_temporal(self.loss(stylized, images, with_style), self.net, images, stylized, stage)
        self.log_terms(terms, stage, images.shape[0])
        if stage == "val":
            self.log_distances(stylized, images)
        return terms["total"]

    @torch.no_grad()
    def on_validation_epoch_start(self) -> None:
        self.style_features = self.loss.encoder(self.style_image, STYLE_TAPS)

    @torch.no_grad()
    def log_distances(self, stylized: Tensor, images: Tensor) -> None:
        """Scores that do not depend on the loss weights, as ``stylenet evaluate`` computes them on this
        encoder: ``val/content_distance`` (relative relu2_2 error to the photo), ``val/style_distance`` (relative
        Gram error to the style over relu1_1..relu5_1) and their sum ``val/distance`` (what sweeps minimise)."""
        encoder = self.loss.encoder
        output = encoder(stylized.float(), (*STYLE_TAPS, "relu2_2"))
        content = content_distance(output, encoder(images, ("relu2_2",)), "relu2_2").mean()
        style = style_distance(output, self.style_features).mean()
        scores = {"val/content_distance": content, "val/style_distance": style, "val/distance": content + style}
        self.log_dict(scores, batch_size=images.shape[0], on_epoch=True, sync_dist=True)

    @torch.no_grad()
    def sample_grid(self, datamodule: L.LightningDataModule, num_images: int) -> Tensor:
        """Top row: the first ``num_images`` validation images; below: their stylisations."""
        dataset = datamodule.val_set
        content = torch.stack([dataset[i] for i in range(min(num_images, len(dataset)))]).to(self.device)
        return make_grid(torch.cat([content, self(content)]).cpu(), nrow=len(content), padding=2, pad_value=1.0)

    def checkpoint_entries(self) -> dict[str, Any]:
        return {"style": self.style}
