"""LightningModule that trains one feed-forward stylizer for one style."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from stylenet import __version__
from stylenet.checkpoint import check_architecture
from stylenet.imageio import load_image
from stylenet.losses import PerceptualLoss

OptimizerFactory = Callable[..., torch.optim.Optimizer]


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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


def log_terms(module: L.LightningModule, terms: dict[str, Tensor], stage: str, batch_size: int) -> None:
    """Log every loss term as ``<stage>/<term>`` (per step in training, per epoch otherwise) and
    ``<stage>_loss`` on the progress bar."""
    module.log_dict(
        {f"{stage}/{k}": v.detach() for k, v in terms.items()},
        batch_size=batch_size,
        on_step=stage == "train",
        on_epoch=stage != "train",
        sync_dist=stage != "train",
    )
    module.log(
        f"{stage}_loss", terms["total"].detach(), batch_size=batch_size, prog_bar=True, sync_dist=stage != "train"
    )


class Stylizer(L.LightningModule):
    """Trains ``net`` (e.g. :class:`~stylenet.models.TransformNet`) to minimise ``loss`` for one style.

    Lightning wraps the two modules; both stay usable on their own. Checkpoints hold the network's
    weights (not the frozen encoder's) plus ``checkpoint["stylenet"]``: the run's config, the style
    image's name and hash, the stylenet version.

    Args:
        net: image -> image network, ``(B, 3, H, W)`` in [0, 1] both ways.
        loss: perceptual loss; its style targets are set here from ``style_image``.
        style_image: path of the style image.
        style_size: longest side the style image is resized to (None keeps it).
        optimizer: ``partial`` optimizer taking the parameters.
        scheduler: optional ``partial`` LR scheduler taking the optimizer; stepped every step.
        channels_last: run the frozen encoder and the network's RGB-output convolutions in the channels-last
            memory format (see :func:`use_channels_last`; the same numbers up to float rounding).
        compile: ``torch.compile`` the network and the loss (their state dict keys are unchanged).
    """

    def __init__(
        self,
        net: nn.Module,
        loss: PerceptualLoss,
        style_image: str | Path,
        style_size: int | None = 512,
        optimizer: OptimizerFactory = partial(torch.optim.Adam, lr=1e-3),
        scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
        channels_last: bool = False,
        compile: bool = False,
    ) -> None:
        super().__init__()
        self.net = net
        self.loss = loss
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.run_config: dict[str, Any] = {}  # the resolved run config, stored in checkpoints
        if channels_last:
            use_channels_last(self.loss.encoder, self.net)
        if compile:
            self.net.compile()
            self.loss.compile()
        self.loss.set_style(load_image(style_image, style_size)[None])
        self.style = {"image": Path(style_image).name, "sha256": file_sha256(style_image), "size": style_size}
        self.strict_loading = False  # the frozen encoder is not saved; the net is checked in on_load_checkpoint

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)

    def loss_terms(self, images: Tensor) -> dict[str, Tensor]:
        """``{"total": scalar, term name: scalar, ...}`` of the stylised ``(B, 3, H, W)`` ``images``."""
        return self.loss(self.net(images), images)

    def _step(self, images: Tensor, stage: str) -> Tensor | None:
        if images.numel() == 0:  # every image of the batch was unreadable (each one was logged)
            return None
        terms = self.loss_terms(images)
        log_terms(self, terms, stage, images.shape[0])
        return terms["total"]

    def training_step(self, images: Tensor, batch_idx: int) -> Tensor | None:
        return self._step(images, "train")

    def validation_step(self, images: Tensor, batch_idx: int) -> None:
        self._step(images, "val")

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.net.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
        checkpoint["stylenet"] = {"version": __version__, "config": self.run_config, "style": self.style}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        expected = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        found = {k: v for k, v in checkpoint.get("state_dict", {}).items() if k.startswith("net.")}
        model = checkpoint.get("stylenet", {}).get("config", {}).get("model")
        source = "checkpoint" + (f" (model {dict(model)})" if model else "")
        check_architecture(expected, found, source)
