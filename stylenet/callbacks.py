"""Lightning callbacks: sample grids of validation images and the system's outputs."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from stylenet.imageio import save_image


class SampleGrid(L.Callback):
    """Every ``every_n_steps`` (and at the end) save the system's sample grid of validation images.

    The system draws the grid (``sample_grid(datamodule, num_images)``, in eval mode), so one callback
    serves every product. It is written to ``dirpath/step_XXXXXX.png`` and ``dirpath/last.png`` and sent
    to W&B or TensorBoard loggers.
    """

    def __init__(self, dirpath: str | Path, every_n_steps: int = 200, num_images: int = 4) -> None:
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps
        self.num_images = num_images

    def write(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        was_training = module.training
        module.eval()
        grid = module.sample_grid(trainer.datamodule, self.num_images)
        module.train(was_training)
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
