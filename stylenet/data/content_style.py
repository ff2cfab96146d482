"""Content photos paired with style images, for training a network that takes the style as an input."""

from __future__ import annotations

from collections.abc import Iterator

import lightning as L
import torch
from lightning.pytorch.utilities import CombinedLoader
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from stylenet.data.images import ImageDataModule, SquareCrops, collate_images


class RepeatedStyleSampler(Sampler[int]):
    """Random style indices, drawn ``styles_per_batch`` at a time, each draw repeated ``repeats`` times.

    With a loader of batch size ``styles_per_batch`` this keeps the same styles for ``repeats``
    consecutive steps. The order is reshuffled per epoch (``set_epoch``) from ``seed``.
    """

    def __init__(self, num_styles: int, repeats: int, styles_per_batch: int = 1, seed: int = 0) -> None:
        if repeats < 1 or styles_per_batch < 1:
            raise ValueError(f"repeats ({repeats}) and styles_per_batch ({styles_per_batch}) must be >= 1")
        if num_styles < styles_per_batch:
            raise ValueError(f"{num_styles} style images cannot fill {styles_per_batch} styles per batch")
        self.num_styles, self.repeats, self.group, self.seed = num_styles, repeats, styles_per_batch, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return (self.num_styles // self.group) * self.group * self.repeats

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(self.num_styles, generator=generator).tolist()
        for start in range(0, len(order) - self.group + 1, self.group):
            for _ in range(self.repeats):
                yield from order[start : start + self.group]


class PairedCrops(Dataset):
    """Item ``i``: ``{"content": content[i], "style": style[i % len(style)]}`` (fixed validation pairs)."""

    def __init__(self, content: SquareCrops, style: SquareCrops) -> None:
        self.content, self.style = content, style

    def __len__(self) -> int:
        return len(self.content)

    def __getitem__(self, index: int) -> dict[str, Tensor | None]:
        return {"content": self.content[index], "style": self.style[index % len(self.style)]}


def collate_pairs(batch: list[dict[str, Tensor | None]]) -> dict[str, Tensor]:
    """Stack the pairs whose two images are both readable (see :func:`collate_images`)."""
    pairs = [item for item in batch if item["content"] is not None and item["style"] is not None]
    return {key: collate_images([item[key] for item in pairs]) for key in ("content", "style")}


class ContentStyleDataModule(L.LightningDataModule):
    """Content batches with style images that change every ``style_every`` steps.

    Training batches are ``{"content": (B, 3, h, h), "style": (S, 3, s, s)}`` with ``S`` =
    ``styles_per_batch`` (content image ``i`` takes style ``i // (B / S)``). Validation pairs each
    held-out content image with one held-out style: ``{"content": (B, ...), "style": (B, ...)}``.
    Both sides are :class:`ImageDataModule`\\ s: their sources, crop sizes and held-out sets apply;
    the content side's batch size is the batch size. Under DDP Lightning shards the style order, so
    each process keeps a style for about ``style_every / world_size`` steps.

    Args:
        content: content photos (e.g. an imagefolder filtered on ``kind: content``, or COCO).
        style: style images (e.g. ``kind: style``, or the hub's ``huggan/wikiart``).
        style_every: steps between style changes (20 in Shen et al.).
        styles_per_batch: distinct styles in one training batch; must divide the batch size.
    """

    def __init__(
        self, content: ImageDataModule, style: ImageDataModule, style_every: int = 20, styles_per_batch: int = 1
    ) -> None:
        super().__init__()
        if content.batch_size % styles_per_batch:
            raise ValueError(f"styles_per_batch {styles_per_batch} does not divide the batch size {content.batch_size}")
        self.content, self.style = content, style
        self.style_every, self.styles_per_batch = style_every, styles_per_batch
        self.val_set: PairedCrops | None = None

    def setup(self, stage: str | None = None) -> None:
        self.content.trainer = self.style.trainer = self.trainer  # each side shards a stream by rank
        self.content.setup(stage)
        self.style.setup(stage)
        self.val_set = PairedCrops(self.content.val_set, self.style.val_set)

    def train_dataloader(self) -> CombinedLoader:
        sampler = RepeatedStyleSampler(
            len(self.style.train_set), self.style_every, self.styles_per_batch, self.style.seed
        )
        styles = DataLoader(
            self.style.train_set,
            batch_size=self.styles_per_batch,
            sampler=sampler,
            num_workers=self.style.num_workers,
            persistent_workers=self.style.num_workers > 0,
            collate_fn=collate_images,
        )
        return CombinedLoader({"content": self.content.train_dataloader(), "style": styles}, mode="max_size_cycle")

    def val_dataloader(self) -> DataLoader:
        return DataLoader(
            self.val_set,
            batch_size=self.content.batch_size,
            num_workers=self.content.num_workers,
            persistent_workers=self.content.num_workers > 0,
            collate_fn=collate_pairs,
        )
