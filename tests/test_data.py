"""Content images through a real Hugging Face imagefolder: filtering, crops, bad files, empty folders."""

from __future__ import annotations

import logging
import shutil

import pytest
import torch
from conftest import IMAGES, KODAK
from PIL import Image

from stylenet.data import ImageDataModule, load_images


def test_shared_imagefolder_filters_content_photos():
    images = load_images("imagefolder", data_dir=str(IMAGES), where={"kind": "content"})
    assert len(images) == 1547
    assert set(images["kind"]) == {"content"}
    dm = ImageDataModule(data_dir=str(IMAGES), where={"kind": "content"}, image_size=32, batch_size=3,
                         num_workers=0, val_size=2, max_images=6)  # fmt: skip
    dm.setup("fit")
    assert len(dm.train_set) == 6 and len(dm.val_set) == 2
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (3, 3, 32, 32) and batch.min() >= 0 and batch.max() <= 1 and batch.std() > 0.05
    torch.testing.assert_close(dm.val_set[0], dm.val_set[0])  # validation crops are fixed


def test_odd_and_broken_files_in_a_local_folder(tmp_path, caplog):
    for path in KODAK[:3]:
        shutil.copy(path, tmp_path / path.name)
    Image.open(KODAK[3]).convert("L").save(tmp_path / "grey.png")
    Image.open(KODAK[4]).convert("RGBA").save(tmp_path / "alpha.png")
    data = KODAK[5].read_bytes()
    (tmp_path / "broken.jpg").write_bytes(data[:200])
    dm = ImageDataModule(data_dir=str(tmp_path), image_size=24, batch_size=6, num_workers=0, val_size=0)
    dm.setup("fit")
    with caplog.at_level(logging.WARNING):
        batches = list(dm.train_dataloader())
    assert sum(len(b) for b in batches) == 5
    assert all(b.shape[1:] == (3, 24, 24) for b in batches)
    assert "broken.jpg" in caplog.text


def test_empty_or_missing_folders_say_so(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere"):
        load_images("imagefolder", data_dir=str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty"):
        load_images("imagefolder", data_dir=str(tmp_path / "empty"))
    with pytest.raises(ValueError, match=r"no column 'genre'"):
        load_images("imagefolder", data_dir=str(IMAGES), where={"genre": "cubism"})
    with pytest.raises(ValueError, match=r"kind.*sculpture"):
        load_images("imagefolder", data_dir=str(IMAGES), where={"kind": "sculpture"})
