"""Stylise many image files on several devices or processes: Lightning's ``Trainer.predict`` with a writer.

    pairs, _ = output_targets(inputs, Path("stylized"))
    summary = stylize_distributed(net, pairs, StyleOptions(strength=0.8), devices=4, accelerator="cpu")

``devices > 1`` runs DDP (over gloo on CPUs), one process per device. Lightning starts the other processes by
running the same command again, so call this from a script or ``stylenet stylize --devices N``, not from an
interactive session. Lightning's sampler for predict gives each input to exactly one process, which reads it
(:class:`InputFiles`): an input whose output exists is skipped there, so a run that was stopped resumes where
it stopped, and an unreadable input becomes a marker that the writer reports while the others go on.
:class:`PredictNet` stylises with the eager network and the same :class:`~stylenet.inference.StyleOptions` as
the single-process path, tiled when an image would exceed the memory budget; :class:`PictureWriter` writes
each output atomically (a temporary name, then a rename) and gathers every process's summary on rank 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from stylenet.imageio import ImageReadError, Picture, read_picture
from stylenet.inference import Model, StyleOptions, stylize
from stylenet.memory import default_budget, plan_tiling
from stylenet.output_files import Summary, notify


@dataclass
class InputFile:
    """One input: its ``source`` and ``target`` files and its ``picture``; without one, the output existed
    (skipped) or, with an ``error`` (one line naming the file), the input could not be read."""

    source: Path
    target: Path
    picture: Picture | None = None
    error: str | None = None


class InputFiles(Dataset):
    """``(input, output)`` file pairs as :class:`InputFile` items, read (longest side ``size``) unless the output
    exists and ``overwrite`` is off. The check runs when an item is read, so every process indexes the same list."""

    def __init__(self, pairs: list[tuple[Path, Path]], size: int | None = None, overwrite: bool = False) -> None:
        self.pairs, self.size, self.overwrite = pairs, size, overwrite

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> InputFile:
        source, target = self.pairs[index]
        if target.exists() and not self.overwrite:
            return InputFile(source, target)
        try:
            return InputFile(source, target, read_picture(source, self.size))
        except (ImageReadError, FileNotFoundError) as error:
            return InputFile(source, target, error=str(error))


def single_item(items: list[InputFile]) -> InputFile:
    """Collate a batch of one input (images differ in size)."""
    (item,) = items
    return item


class PredictNet(L.LightningModule):
    """An eager image network for ``Trainer.predict``: an :class:`InputFile` -> its stylised ``(3, H, W)`` (None
    for one skipped or unreadable), tiled when an untiled run would need more than the memory budget.

    ``budget`` (bytes, default half the available memory) is the device's; CPU processes share it.
    """

    def __init__(self, net: nn.Module, options: StyleOptions, budget: float | None = None) -> None:
        super().__init__()
        self.net, self.options, self.budget = net, options, budget

    def on_predict_start(self) -> None:
        budget = self.budget or default_budget(self.device)
        self.process_budget = budget / self.trainer.num_devices if self.device.type == "cpu" else budget

    def predict_step(self, item: InputFile) -> Tensor | None:
        if item.picture is None:
            return None
        model = Model(self.net, "eager", self.device, self.net)
        image = item.picture.rgb[None]
        options, notice = plan_tiling(self.options, image.shape, model, self.process_budget, str(item.source))
        if notice:
            notify(notice)
        return stylize(model, image, options)[0]


class PictureWriter(BasePredictionWriter):
    """Writes each prediction to its input's target and records it in ``summary``; at the end of predict the
    processes' summaries are gathered, so rank 0's holds every input."""

    def __init__(self) -> None:
        super().__init__("batch")
        self.summary = Summary()

    def write_on_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: Tensor | None,
        batch_indices: list[int] | None,
        batch: InputFile,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        if batch.error is not None:
            self.summary.failed[batch.source] = batch.error
        elif prediction is None:
            self.summary.skipped.append(batch.source)
        else:
            self.summary.save(batch.source, batch.target, replace(batch.picture, rgb=prediction))

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.world_size > 1:
            parts: list[Summary | None] = [None] * trainer.world_size
            torch.distributed.all_gather_object(parts, self.summary)
            self.summary = Summary.merged(parts)


def stylize_distributed(
    net: nn.Module,
    pairs: list[tuple[Path, Path]],
    options: StyleOptions = StyleOptions(),
    size: int | None = None,
    overwrite: bool = False,
    devices: int = 1,
    accelerator: str = "auto",
    budget: float | None = None,
    progress: bool = True,
) -> Summary | None:
    """Stylise ``(input, output)`` file ``pairs`` with the eager ``net`` on ``devices`` processes of
    ``accelerator`` (see the module docstring); returns the summary of every input on global rank 0, None on
    the other ranks. ``budget`` is each device's memory budget in bytes (CPU processes share one)."""
    writer = PictureWriter()
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=devices,
        strategy="ddp" if devices > 1 else "auto",
        callbacks=[writer],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
    )
    loader = DataLoader(InputFiles(pairs, size, overwrite), batch_size=1, collate_fn=single_item)
    trainer.predict(PredictNet(net, options, budget), loader, return_predictions=False)
    if torch.distributed.is_initialized():  # gloo's threads abort the process if the group outlives Python
        torch.distributed.destroy_process_group()
    return writer.summary if trainer.is_global_zero else None
