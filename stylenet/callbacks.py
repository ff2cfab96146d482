"""Lightning callbacks: sample grids of (content | stylised) images."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torch import Tensor
from torchvision.utils import make_grid

from stylenet.imageio import save_image


class SampleGrid(L.Callback):
    """Every ``every_n_steps`` (and at the end) stylise fixed validation images and save a grid.

    The grid has the content images on the top row and their stylised versions below. It is written
    to ``dirpath/step_XXXXXX.png`` and ``dirpath/last.png`` and sent to W&B or TensorBoard loggers.
    """

    def __init__(self, dirpath: str | Path, every_n_steps: int = 200, num_images: int = 4) -> None:
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps
        self.num_images = num_images
        self._images: Tensor | None = None

    def _content(self, trainer: L.Trainer) -> Tensor:
        if self._images is None:
            dataset = trainer.datamodule.val_set
            self._images = torch.stack([dataset[i] for i in range(min(self.num_images, len(dataset)))])
        return self._images

    @torch.no_grad()
    def grid(self, trainer: L.Trainer, module: L.LightningModule) -> Tensor:
        content = self._content(trainer).to(module.device)
        was_training = module.training
        module.eval()
        stylised = module(content)
        module.train(was_training)
        return make_grid(torch.cat([content, stylised]).cpu(), nrow=len(content), padding=2, pad_value=1.0)

    def write(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        grid = self.grid(trainer, module)
        step = trainer.global_step
        save_image(grid, self.dirpath / f"step_{step:06d}.png")
        save_image(grid, self.dirpath / "last.png")
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [grid], step=step)
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", grid, step)

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: object) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            self.write(trainer, module)

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.write(trainer, module)
