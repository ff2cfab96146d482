"""Image datasets from Hugging Face ``datasets``: a hub name or a local ``imagefolder``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import datasets
import lightning as L
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from stylenet.imageio import ImageReadError, open_image, pil_to_tensor

log = logging.getLogger(__name__)


def load_images(
    path: str,
    data_dir: str | None = None,
    name: str | None = None,
    split: str = "train",
    image_column: str = "image",
    where: Mapping[str, object] | None = None,
) -> datasets.Dataset:
    """Load a dataset whose ``image_column`` holds images, undecoded, filtered on ``where``.

    ``path`` is a hub name (``"detection-datasets/coco"``) or a builder such as ``"imagefolder"`` with
    ``data_dir``. Raises ``ValueError`` naming the source when it cannot be read or nothing matches.
    """
    source = f"{path}" + (f" ({data_dir})" if data_dir else "")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise FileNotFoundError(f"image folder not found: {data_dir}")
    try:
        dataset = datasets.load_dataset(path, name=name, data_dir=data_dir, split=split)
    except Exception as error:
        raise ValueError(f"cannot load images from {source}: {error}") from error
    if image_column not in dataset.column_names:
        raise ValueError(f"{source} has no column {image_column!r}; columns: {dataset.column_names}")
    dataset = dataset.cast_column(image_column, datasets.Image(decode=False))
    for column, value in (where or {}).items():
        if column not in dataset.column_names:
            raise ValueError(f"{source} has no column {column!r} to filter on; columns: {dataset.column_names}")
        dataset = dataset.filter(lambda v, want=value: v == want, input_columns=column)
    if len(dataset) == 0:
        raise ValueError(f"no images in {source}" + (f" with {dict(where)}" if where else ""))
    return dataset


class SquareCrops(Dataset):
    """``(3, size, size)`` crops of a dataset's images: random crops for training, centred otherwise.

    The shorter side is resized to ``size`` first. An unreadable image is logged with its file name
    and yields ``None``, which :func:`collate_images` drops.
    """

    def __init__(self, images: datasets.Dataset, size: int, image_column: str = "image", train: bool = True) -> None:
        self.images, self.size, self.column, self.train = images, size, image_column, train

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Tensor | None:
        item = self.images[index][self.column]
        label = item.get("path") or f"item {index}"
        try:
            image = open_image(item["bytes"] if item.get("bytes") else item["path"], name=label)
        except (ImageReadError, FileNotFoundError) as error:
            log.warning("skipping unreadable image: %s", error)
            return None
        return pil_to_tensor(self.crop(image))

    def crop(self, image: Image.Image) -> Image.Image:
        scale = self.size / min(image.size)
        w, h = max(self.size, round(image.width * scale)), max(self.size, round(image.height * scale))
        image = image.resize((w, h), Image.Resampling.BILINEAR)
        if self.train:
            left = int(torch.randint(0, w - self.size + 1, ()))
            top = int(torch.randint(0, h - self.size + 1, ()))
        else:
            left, top = (w - self.size) // 2, (h - self.size) // 2
        return image.crop((left, top, left + self.size, top + self.size))


def collate_images(batch: list[Tensor | None]) -> Tensor:
    """Stack the readable images; an all-unreadable batch gives an empty ``(0, 3, 0, 0)`` tensor."""
    images = [image for image in batch if image is not None]
    return torch.stack(images) if images else torch.empty(0, 3, 0, 0)


class ImageDataModule(L.LightningDataModule):
    """Square crops of images from a hub dataset or a local ``imagefolder``, with a fixed held-out set.

    Args:
        path: ``datasets`` path: a hub name, or ``"imagefolder"`` with ``data_dir``.
        data_dir: local folder for ``imagefolder`` (a ``metadata.csv`` adds columns to filter on).
        name, split: ``datasets`` config name and split.
        image_column: column that holds the images.
        where: ``{column: value}`` filters, e.g. ``{"kind": "content"}``.
        image_size: crop side in pixels.
        batch_size, num_workers: loader settings.
        val_size: images held out (deterministically, by ``seed``) for validation.
        max_images: use at most this many training images (quick runs).
        seed: seed of the train/validation split.
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
    ) -> None:
        super().__init__()
        self.source = dict(path=path, data_dir=data_dir, name=name, split=split, image_column=image_column)
        self.where = dict(where or {})
        self.image_size, self.batch_size, self.num_workers = image_size, batch_size, num_workers
        self.val_size, self.max_images, self.seed = val_size, max_images, seed
        self.train_set: SquareCrops | None = None
        self.val_set: SquareCrops | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        images = load_images(**self.source, where=self.where).shuffle(seed=self.seed)
        if len(images) <= self.val_size:
            raise ValueError(f"{len(images)} images cannot leave {self.val_size} for validation")
        train = images.select(range(self.val_size, len(images)))
        if self.max_images is not None:
            train = train.select(range(min(self.max_images, len(train))))
        column = self.source["image_column"]
        self.train_set = SquareCrops(train, self.image_size, column, train=True)
        self.val_set = SquareCrops(images.select(range(self.val_size)), self.image_size, column, train=False)

    def _loader(self, dataset: SquareCrops, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=shuffle and len(dataset) >= self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            collate_fn=collate_images,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)
