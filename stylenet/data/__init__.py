"""Data: image datasets through Hugging Face ``datasets``, wrapped in LightningDataModules."""

from stylenet.data.images import ImageDataModule, SquareCrops, collate_images, load_images

__all__ = ["ImageDataModule", "SquareCrops", "collate_images", "load_images"]
