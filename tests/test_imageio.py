"""Image reading: every mode becomes RGB in [0, 1]; every failure names the file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import KODAK
from PIL import Image

from stylenet.imageio import ImageReadError, load_image, save_image


@pytest.fixture
def photo() -> Image.Image:
    return Image.open(KODAK[0]).convert("RGB").resize((48, 32))


def test_modes_become_rgb(tmp_path, photo):
    photo.convert("L").save(tmp_path / "grey.png")
    rgba = photo.convert("RGBA")
    rgba.putalpha(0)
    rgba.save(tmp_path / "clear.png")
    photo.convert("CMYK").save(tmp_path / "cmyk.jpg")
    photo.convert("P").save(tmp_path / "palette.png")
    grey = load_image(tmp_path / "grey.png")
    assert grey.shape == (3, 32, 48)
    torch.testing.assert_close(grey[0], grey[1])
    torch.testing.assert_close(load_image(tmp_path / "clear.png"), torch.ones(3, 32, 48))  # alpha 0 -> white
    cmyk = load_image(tmp_path / "cmyk.jpg")
    assert cmyk.shape == (3, 32, 48)
    assert (cmyk - load_image(KODAK[0]).new_tensor(np.asarray(photo) / 255).permute(2, 0, 1)).abs().mean() < 0.1
    assert load_image(tmp_path / "palette.png").shape == (3, 32, 48)


def test_sixteen_bit_greyscale_uses_full_range(tmp_path):
    ramp = (np.linspace(0, 65535, 64).reshape(8, 8)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    image = load_image(tmp_path / "deep.png")
    assert image.shape == (3, 8, 8)
    assert image.min() == 0 and image.max() == 1


def test_exif_orientation_is_honoured(tmp_path, photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    photo.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_image(tmp_path / "rotated.jpg").shape == (3, 48, 32)


def test_resize_keeps_aspect(photo, tmp_path):
    photo.save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png", size=24).shape == (3, 16, 24)


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing.jpg"):
        load_image(tmp_path / "missing.jpg")
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(ImageReadError, match=r"text.jpg"):
        load_image(tmp_path / "text.jpg")
    data = KODAK[0].read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageReadError, match=r"truncated.jpg"):
        load_image(tmp_path / "truncated.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty.png"):
        load_image(tmp_path / "empty.png")


def test_save_round_trip(tmp_path):
    image = torch.rand(3, 10, 12)
    path = save_image(image, tmp_path / "sub" / "out.png")
    assert (load_image(path) - image).abs().max() <= 0.5 / 255 + 1e-6
    assert [p.name for p in path.parent.iterdir()] == ["out.png"]
