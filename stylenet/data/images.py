"""Image datasets from Hugging Face ``datasets``: a hub name (streamed or downloaded) or a local ``imagefolder``.

Training order is resumable: :class:`EpochSampler` draws a seeded permutation per epoch and gives each draw
the seed of its random crop, and the loader is torchdata's ``StatefulDataLoader``, whose state Lightning
saves in every checkpoint; a run resumed mid-epoch sees the same images, crops and order as one that never
stopped. A streamed dataset resumes through ``datasets``' own iterable state.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import datasets
import lightning as L
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler, IterableDataset
from torchdata.stateful_dataloader import StatefulDataLoader

from stylenet.imageio import ImageReadError, open_image, pil_to_tensor

log = logging.getLogger(__name__)


def load_images(
    path: str,
    data_dir: str | None = None,
    name: str | None = None,
    split: str = "train",
    image_column: str = "image",
    where: Mapping[str, object] | None = None,
    data_files: str | list[str] | None = None,
    streaming: bool = False,
) -> datasets.Dataset | datasets.IterableDataset:
    """Load a dataset whose ``image_column`` holds images, undecoded, filtered on ``where``.

    ``path`` is a hub name (``"detection-datasets/coco"``) or a builder such as ``"imagefolder"`` with
    ``data_dir`` or ``"parquet"`` with ``data_files``. With ``streaming`` the images are read as they are
    used (``datasets.IterableDataset``): the first step does not wait for a multi-GB download. Raises
    ``ValueError`` naming the source when it cannot be read or nothing matches.
    """
    source = f"{path}" + (f" ({data_dir or data_files})" if data_dir or data_files else "")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise FileNotFoundError(f"image folder not found: {data_dir}")
    try:
        dataset = datasets.load_dataset(
            path, name=name, data_dir=data_dir, data_files=data_files, split=split, streaming=streaming
        )
        columns = dataset.column_names or list(dataset.features or {})
    except Exception as error:
        raise ValueError(f"cannot load images from {source}: {error}") from error
    if image_column not in columns:
        raise ValueError(f"{source} has no column {image_column!r}; columns: {columns}")
    dataset = dataset.cast_column(image_column, datasets.Image(decode=False))
    for column, value in (where or {}).items():
        if column not in columns:
            raise ValueError(f"{source} has no column {column!r} to filter on; columns: {columns}")
        dataset = dataset.filter(lambda v, want=value: v == want, input_columns=column)
    if not streaming and len(dataset) == 0:
        raise ValueError(f"no images in {source}" + (f" with {dict(where)}" if where else ""))
    return dataset


def square_crop(item: Mapping[str, Any], size: int, crop: int | bool, label: str) -> Tensor | None:
    """``(3, size, size)`` crop of an undecoded ``datasets`` image ``{"bytes", "path"}``: random, drawn from
    the seed ``crop`` (an int) or from torch's global generator (``True``), or centred (``False``). The
    shorter side is resized to ``size`` first. An unreadable image is logged with its file name and gives
    ``None``, which :func:`collate_images` drops."""
    label = item.get("path") or label
    try:
        image = open_image(item["bytes"] if item.get("bytes") else item["path"], name=label)
    except (ImageReadError, FileNotFoundError) as error:
        log.warning("skipping unreadable image: %s", error)
        return None
    scale = size / min(image.size)
    w, h = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    image = image.resize((w, h), Image.Resampling.BILINEAR)
    if crop is False:
        left, top = (w - size) // 2, (h - size) // 2
    else:
        generator = None if crop is True else torch.Generator().manual_seed(crop)
        left = int(torch.randint(0, w - size + 1, (), generator=generator))
        top = int(torch.randint(0, h - size + 1, (), generator=generator))
    return pil_to_tensor(image.crop((left, top, left + size, top + size)))


class SquareCrops(Dataset):
    """``(3, size, size)`` crops of a dataset's images (:func:`square_crop`).

    Item ``(i, seed)`` (what :class:`EpochSampler` yields) is a random crop of image ``i`` drawn from
    ``seed``, so the same draw always gives the same crop; item ``i`` is a random crop for ``train``,
    else the centred one.
    """

    def __init__(self, images: datasets.Dataset, size: int, image_column: str = "image", train: bool = True) -> None:
        self.images, self.size, self.column, self.train = images, size, image_column, train

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: int | tuple[int, int]) -> Tensor | None:
        index, crop = key if isinstance(key, tuple) else (key, self.train)
        return square_crop(self.images[index][self.column], self.size, crop, f"item {index}")


class EpochSampler(DistributedSampler):
    """A seeded permutation of ``range(size)`` per epoch, sharded by rank, each index with its crop's seed.

    Yields ``(index, crop_seed)``, a function of ``seed`` and the epoch alone. Its iterator's state (epoch
    and position) is saved by ``StatefulDataLoader`` with each checkpoint, so a resumed run continues the
    same order mid-epoch. It is a ``DistributedSampler`` so that Lightning keeps it under DDP instead of
    wrapping it; each rank takes ``size // world_size`` draws.
    """

    def __init__(self, size: int, seed: int = 0, num_replicas: int | None = None, rank: int | None = None) -> None:
        if num_replicas is None and not torch.distributed.is_initialized():
            num_replicas, rank = 1, 0
        super().__init__(range(size), num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)

    def draws(self, epoch: int) -> list[tuple[int, int]]:
        """This rank's ``(index, crop_seed)`` draws of ``epoch``."""
        generator = torch.Generator().manual_seed(self.seed + epoch)
        order = torch.randperm(len(self.dataset), generator=generator)
        crop_seeds = torch.randint(0, 2**62, (len(self.dataset),), generator=generator)
        picks = range(self.rank, self.num_samples * self.num_replicas, self.num_replicas)
        return [(int(order[i]), int(crop_seeds[i])) for i in picks]

    def __iter__(self) -> EpochDraws:
        return EpochDraws(self, self.epoch)


class EpochDraws(Iterator[tuple[int, int]]):
    """The iterator of an :class:`EpochSampler`: its state is the epoch and the position in it."""

    def __init__(self, sampler: EpochSampler, epoch: int, position: int = 0) -> None:
        self.sampler, self.epoch, self.position = sampler, epoch, position
        self.order = sampler.draws(epoch)

    def __next__(self) -> tuple[int, int]:
        if self.position >= len(self.order):
            raise StopIteration
        self.position += 1
        return self.order[self.position - 1]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = state["epoch"], state["position"]
        self.order = self.sampler.draws(self.epoch)


class StreamedCrops(IterableDataset):
    """Training crops of a streamed ``datasets.IterableDataset`` (read as it goes, never indexed).

    Its state (how far the stream was read, the shuffle buffer's seed and epoch) comes from ``datasets``,
    so the ``StatefulDataLoader`` resumes it. A photo's random crop is drawn from its name and ``seed``.
    """

    def __init__(self, images: datasets.IterableDataset, size: int, image_column: str = "image", seed: int = 0):
        self.images, self.size, self.column, self.seed = images, size, image_column, seed

    def __iter__(self) -> Iterator[Tensor | None]:
        for position, row in enumerate(self.images):
            item = row[self.column]
            name = (item.get("path") or "").encode() or item.get("bytes") or b""
            yield square_crop(item, self.size, zlib.crc32(name, self.seed & 0xFFFFFFFF), f"stream item {position}")

    def set_epoch(self, epoch: int) -> None:
        self.images.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        return self.images.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images.load_state_dict(state)


def collate_images(batch: list[Tensor | None]) -> Tensor:
    """Stack the readable images; an all-unreadable batch gives an empty ``(0, 3, 0, 0)`` tensor."""
    images = [image for image in batch if image is not None]
    return torch.stack(images) if images else torch.empty(0, 3, 0, 0)


class ImageDataModule(L.LightningDataModule):
    """Square crops of images from a hub dataset or a local folder, with a fixed held-out set.

    Args:
        path: ``datasets`` path: a hub name, or a builder (``"imagefolder"`` with ``data_dir``, ``"parquet"``
            with ``data_files``).
        data_dir: local folder for ``imagefolder`` (a ``metadata.csv`` adds columns to filter on).
        name, split: ``datasets`` config name and split.
        image_column: column that holds the images.
        where: ``{column: value}`` filters, e.g. ``{"kind": "content"}``.
        image_size: crop side in pixels.
        batch_size, num_workers: loader settings.
        val_size: images held out (deterministically, by ``seed``) for validation.
        max_images: use at most this many training images (quick runs).
        seed: seed of the train/validation split, the training order and the crops.
        data_files: local files for builders such as ``"parquet"``.
        streaming: read the images as training goes (hub datasets): the first ``val_size`` are held out,
            the rest pass through a shuffle buffer of ``shuffle_buffer`` images.
        fallback: the source (keys as above: ``path``, ``data_dir``, ``streaming``, ...) used when
            ``data_dir`` does not exist, e.g. COCO from the hub on a machine without the local photos.
    """

    def __init__(
        self,
        path: str = "imagefolder",
        data_dir: str | None = None,
        name: str | None = None,
        split: str = "train",
        image_column: str = "image",
        where: Mapping[str, object] | None = None,
        image_size: int = 256,
        batch_size: int = 4,
        num_workers: int = 2,
        val_size: int = 8,
        max_images: int | None = None,
        seed: int = 0,
        data_files: str | list[str] | None = None,
        streaming: bool = False,
        shuffle_buffer: int = 1000,
        fallback: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.source: dict[str, Any] = dict(
            path=path, data_dir=data_dir, data_files=data_files, name=name, split=split, where=dict(where or {})
        )
        self.streaming, self.fallback = streaming, dict(fallback or {})
        self.image_column = image_column
        self.image_size, self.batch_size, self.num_workers = image_size, batch_size, num_workers
        self.val_size, self.max_images, self.seed, self.shuffle_buffer = val_size, max_images, seed, shuffle_buffer
        self.train_set: SquareCrops | StreamedCrops | None = None
        self.val_set: SquareCrops | None = None

    def resolved_source(self) -> tuple[dict[str, Any], bool]:
        """The source to read and whether to stream it: the fallback when the local folder is missing."""
        data_dir = self.source["data_dir"]
        if not self.fallback or data_dir is None or Path(data_dir).is_dir():
            return self.source, self.streaming
        fallback = {**self.source, "data_dir": None, "where": {}, **self.fallback}
        streaming = bool(fallback.pop("streaming", self.streaming))
        how = " (streamed)" if streaming else ""
        log.warning("no local images at %s: reading %s instead%s", data_dir, fallback["path"], how)
        return fallback, streaming

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        source, streaming = self.resolved_source()
        images = load_images(**source, image_column=self.image_column, streaming=streaming)
        if streaming:
            self.setup_stream(images)
            return
        images = images.shuffle(seed=self.seed)
        if len(images) <= self.val_size:
            raise ValueError(f"{len(images)} images cannot leave {self.val_size} for validation")
        train = images.select(range(self.val_size, len(images)))
        if self.max_images is not None:
            train = train.select(range(min(self.max_images, len(train))))
        self.train_set = SquareCrops(train, self.image_size, self.image_column)
        self.val_set = SquareCrops(images.select(range(self.val_size)), self.image_size, self.image_column, False)

    def setup_stream(self, images: datasets.IterableDataset) -> None:
        """Hold out the stream's first ``val_size`` images (kept in memory); shuffle and shard the rest."""
        held_out = datasets.Dataset.from_list(list(images.take(self.val_size)), features=images.features)
        if len(held_out) < self.val_size:
            raise ValueError(f"the stream has {len(held_out)} images, fewer than val_size={self.val_size}")
        train = images.skip(self.val_size)
        if self.max_images is not None:
            train = train.take(self.max_images)
        train = train.shuffle(seed=self.seed, buffer_size=self.shuffle_buffer)
        if self.trainer is not None and self.trainer.world_size > 1:
            train = datasets.distributed.split_dataset_by_node(train, self.trainer.global_rank, self.trainer.world_size)
        self.train_set = StreamedCrops(train, self.image_size, self.image_column, self.seed)
        self.val_set = SquareCrops(held_out, self.image_size, self.image_column, train=False)

    def train_dataloader(self) -> StatefulDataLoader:
        """A resumable loader: Lightning saves its state in each checkpoint and restores it on resume."""
        streamed = isinstance(self.train_set, StreamedCrops)
        sampler = None if streamed else EpochSampler(len(self.train_set), self.seed)
        return StatefulDataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=not streamed and len(self.train_set) >= self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            collate_fn=collate_images,
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(
            self.val_set,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            collate_fn=collate_images,
        )
