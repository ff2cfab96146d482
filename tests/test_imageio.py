"""Image reading: every mode becomes RGB in [0, 1]; every failure names the file; pictures keep alpha and 16 bits."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from conftest import KODAK
from PIL import Image, ImageOps

from stylenet.imageio import UPRIGHT, ImageReadError, Picture, load_image, read_picture, save_image, save_picture


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


def test_upright_turns_arrays_as_exif_transpose_turns_images(tmp_path, photo):
    for orientation, turn in UPRIGHT.items():
        exif = Image.Exif()
        exif[0x0112] = orientation
        photo.save(tmp_path / "turned.png", exif=exif)
        expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "turned.png")))
        assert np.array_equal(turn(np.asarray(photo)), expected), f"orientation {orientation}"


def test_sixteen_bit_and_alpha_samples_survive_a_round_trip(tmp_path, photo):
    columns = np.arange(48, dtype=np.uint16)[:, None]
    deep = np.asarray(photo, dtype=np.uint16) * 256 + columns  # levels that 8 bits cannot hold
    alpha = np.linspace(0, 65535, 32 * 48).reshape(32, 48, 1).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), np.concatenate([deep[..., ::-1], alpha], axis=-1))  # BGRA
    picture = read_picture(tmp_path / "deep.png")
    assert picture.bits == 16 and picture.rgb.shape == (3, 32, 48) and picture.alpha.shape == (1, 32, 48)
    assert np.array_equal(np.round(picture.rgb.permute(1, 2, 0).numpy() * 65535), deep)
    for suffix in (".png", ".tif"):
        assert save_picture(picture, tmp_path / f"copy{suffix}") == []
        copy = cv2.imread(str(tmp_path / f"copy{suffix}"), cv2.IMREAD_UNCHANGED)
        assert copy.dtype == np.uint16 and np.array_equal(copy[..., 2::-1], deep)
        assert np.array_equal(copy[..., 3:], alpha)
    notes = save_picture(picture, tmp_path / "flat.jpg")
    assert notes == [
        "dropped the alpha channel (composited on white): .jpg holds no alpha",
        "reduced 16-bit samples to 8 bits: .jpg holds 8",
    ]
    assert Image.open(tmp_path / "flat.jpg").mode == "RGB"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.png", "copy.tif", "deep.png", "flat.jpg"]


def test_sixteen_bit_greyscale_is_turned_upright_and_resized_at_full_depth(tmp_path):
    ramp = np.linspace(0, 65535, 40 * 20).reshape(40, 20).astype(np.uint16)
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to display
    Image.fromarray(ramp).save(tmp_path / "deep.png", exif=exif)
    picture = read_picture(tmp_path / "deep.png")
    assert picture.bits == 16 and picture.alpha is None
    assert np.array_equal(np.round(picture.rgb[1].numpy() * 65535), np.rot90(ramp, -1))
    half = read_picture(tmp_path / "deep.png", size=20).rgb
    assert half.shape == (3, 10, 20)
    assert (half * 255 - (half * 255).round()).abs().max() > 0.1, "resized at more than 8 bits"
    assert save_picture(Picture(half, bits=16), tmp_path / "half.png") == []
    assert cv2.imread(str(tmp_path / "half.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
