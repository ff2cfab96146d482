"""The base of every Lightning system: a network trained on a perceptual loss.

It owns what the products share: the optimiser and per-step scheduler, checkpoints that keep only the
trained network's weights with a :mod:`stylenet.checkpoint` description, the architecture check on
resume, and logging of every loss term. A product subclasses it with its ``kind``, its ``step`` and
``sample_grid``, and the entries its checkpoints add (:meth:`checkpoint_entries`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

import lightning as L
import torch
from torch import Tensor, nn

from stylenet.checkpoint import check_architecture, describe
from stylenet.losses import PerceptualLoss, TemporalLoss

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]


class PerceptualSystem(L.LightningModule):
    """Trains ``net`` to minimise ``loss``; Lightning wraps both, and both stay usable on their own.

    Args:
        net: the trained network, registered in :mod:`stylenet.models`.
        loss: perceptual loss with its frozen encoder (not saved in checkpoints).
        optimizer: ``partial`` optimizer taking the parameters.
        scheduler: optional ``partial`` LR scheduler taking the optimizer; stepped every step.
        temporal: the temporal regulariser of a stylising product (:class:`~stylenet.losses.TemporalLoss`),
            added to the training loss by :meth:`add_temporal`; None or weight 0 leaves training as it was.
    """

    kind: ClassVar[str]

    def __init__(
        self,
        net: nn.Module,
        loss: PerceptualLoss,
        optimizer: OptimizerFactory = partial(torch.optim.Adam, lr=1e-3),
        scheduler: SchedulerFactory | None = None,
        temporal: TemporalLoss | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.loss = loss
        self.temporal = temporal if temporal is not None and temporal.weight else None
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.run_config: dict[str, Any] = {}  # the resolved run config, stored in checkpoints
        self.strict_loading = False  # the frozen encoder is not saved; the net is checked in on_load_checkpoint

    def step(self, batch: Any, stage: str) -> Tensor | None:
        """The loss of ``batch`` (logged under ``stage``), or None to skip a batch of unreadable images."""
        raise NotImplementedError

    def sample_grid(self, datamodule: L.LightningDataModule, num_images: int) -> Tensor:
        """A ``(3, H, W)`` grid of validation images and their outputs, for :class:`~stylenet.callbacks.SampleGrid`."""
        raise NotImplementedError

    def checkpoint_entries(self) -> dict[str, Any]:
        """The kind's own entries of ``checkpoint["stylenet"]``."""
        return {}

    def add_temporal(
        self, terms: dict[str, Tensor], net: Callable[[Tensor], Tensor], images: Tensor, stylized: Tensor, stage: str
    ) -> dict[str, Tensor]:
        """``terms`` with the temporal term of ``net`` on ``images`` (stylised: ``stylized``) added to them and to
        their total, in training when the system has one; ``terms`` as they are otherwise."""
        if self.temporal is None or stage != "train":
            return terms
        temporal = self.temporal(net, images, stylized)["temporal"]
        return {**terms, "temporal": temporal, "total": terms["total"] + temporal}

    def training_step(self, batch: Any, batch_idx: int) -> Tensor | None:
        return self.step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.step(batch, "val")

    def log_terms(self, terms: dict[str, Tensor], stage: str, batch_size: int) -> None:
        """Log every loss term as ``<stage>/<term>`` (per step in training, per epoch otherwise) and
        ``<stage>_loss`` on the progress bar."""
        sync = stage != "train"
        self.log_dict(
            {f"{stage}/{k}": v.detach() for k, v in terms.items()},
            batch_size=batch_size,
            on_step=not sync,
            on_epoch=sync,
            sync_dist=sync,
        )
        self.log(f"{stage}_loss", terms["total"].detach(), batch_size=batch_size, prog_bar=True, sync_dist=sync)

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.net.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
        checkpoint["stylenet"] = describe(self.kind, self.net, self.run_config, **self.checkpoint_entries())

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        expected = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        found = {k: v for k, v in checkpoint.get("state_dict", {}).items() if k.startswith("net.")}
        network = checkpoint.get("stylenet", {}).get("network")
        check_architecture(expected, found, "checkpoint" + (f" (network {network})" if network else ""))
