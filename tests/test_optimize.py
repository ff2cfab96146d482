"""Optimisation-based stylisation and texture synthesis on the real VGG16 and real images."""

from __future__ import annotations

import struct
import zlib

import pytest
import torch
from conftest import KODAK, SHARED, STARRY
from PIL import Image

from stylenet.cli import main
from stylenet.imageio import load_image
from stylenet.losses import ContentLoss, GramLoss, PerceptualLoss
from stylenet.pixel_optimization import set_style_images, stylize_by_optimization, synthesize_texture

CONTENT = KODAK[0]
SMALL_STYLE = SHARED / "images/style/fast_neural_style/candy.jpg"


def gatys_loss(encoder, style_weight: float = 1e8) -> PerceptualLoss:
    return PerceptualLoss(
        encoder, ContentLoss(["relu2_2"], 1e5), [GramLoss(["relu1_1", "relu2_1", "relu3_1"], style_weight)]
    )


def test_fixed_content_target_equals_passing_the_content(vgg16):
    loss = gatys_loss(vgg16)
    loss.set_style(load_image(STARRY, 64)[None])
    content = load_image(CONTENT, 48)[None]
    output = torch.rand_like(content)
    passed = loss(output, content)
    loss.set_content(content)
    fixed = loss(output)
    assert set(fixed) == set(passed) and "content/relu2_2" in fixed
    for name in passed:
        torch.testing.assert_close(fixed[name], passed[name])


def test_style_blend_is_the_weighted_mean_of_the_statistics(vgg16):
    loss = gatys_loss(vgg16)
    first, second = load_image(STARRY, 64), load_image(SMALL_STYLE, 48)
    targets = []
    for style in (first, second):
        loss.set_style(style[None])
        targets.append(loss.style[0].target("relu2_1").clone())
    set_style_images(loss, [first, second], [3.0, 1.0])
    torch.testing.assert_close(loss.style[0].target("relu2_1"), 0.75 * targets[0] + 0.25 * targets[1])


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_stylization_lowers_the_total_loss(vgg16, optimizer):
    loss = gatys_loss(vgg16)
    content = load_image(CONTENT, 80)
    result = stylize_by_optimization(loss, content, [load_image(STARRY, 96)], steps=6, optimizer=optimizer)
    first, last = result.history[0], result.history[-1]
    assert first["content"] == 0.0, "a content start has zero content loss"
    assert last["total"] < 0.95 * first["total"]
    assert result.image.shape == (1, *content.shape)
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0
    assert len(result.step_seconds) == 6 and all(s > 0 for s in result.step_seconds)


def test_texture_synthesis_lowers_the_style_loss_tenfold(vgg16):
    loss = PerceptualLoss(vgg16, None, [GramLoss(["relu1_1", "relu2_1", "relu3_1"], 1e6)])
    result = synthesize_texture(loss, [load_image(STARRY, 96)], (48, 64), steps=12, optimizer="adam", lr=0.05)
    assert result.image.shape == (1, 3, 48, 64)
    assert result.history[-1]["style"] * 10 <= result.history[0]["style"]
    assert result.history[-1]["content"] == 0.0


def test_texture_refuses_a_loss_with_fixed_content(vgg16):
    loss = gatys_loss(vgg16)
    loss.set_content(load_image(CONTENT, 32)[None])
    with pytest.raises(ValueError, match="fixed content"):
        synthesize_texture(loss, [load_image(STARRY, 32)], (32, 32), steps=1)


def run_optimize(*args: str) -> None:
    main(["optimize", *args, "--quiet", "--set", f"paths.shared={SHARED}"])


def test_command_writes_image_history_and_plot(tmp_path):
    output = tmp_path / "out.png"
    run_optimize(
        *(str(CONTENT), "-o", str(output), "--size", "48", "--style-size", "64", "--steps", "3"),
        *("--loss", "crosslayer", "--set", "style.style_weight=1e8", "--snapshot-every", "2"),
    )
    assert max(Image.open(output).size) == 48
    rows = (tmp_path / "out_loss.csv").read_text().splitlines()
    assert rows[0].startswith("iteration,seconds,content,style,tv,total") and len(rows) == 1 + 4
    assert "crosslayer/relu1_2->relu2_2" in rows[0]
    with Image.open(tmp_path / "out_loss.png") as plot:
        plot.verify()
    with Image.open(tmp_path / "out_loss.png") as plot:
        assert plot.format == "PNG" and plot.size == (640, 400)
    assert (tmp_path / "out_iter00002.png").is_file()


def test_command_synthesises_a_texture_of_the_requested_size(tmp_path):
    output = tmp_path / "texture.png"
    run_optimize(
        *("--texture", "--style", str(STARRY), "-o", str(output), "--texture-size", "32", "40"),
        *("--style-size", "64", "--steps", "2", "--optimizer", "lbfgs"),
    )
    assert Image.open(output).size == (40, 32)
    assert "content/" not in (tmp_path / "texture_loss.csv").read_text().splitlines()[0]


def zero_width_png() -> bytes:
    """A PNG whose header declares a 0 x 4 image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 0, 4, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [("missing.jpg", None, "not found"), ("empty.jpg", b"", "cannot read"), ("zero.png", zero_width_png(), "")],
)
@pytest.mark.parametrize("role", ["content", "style"])
def test_command_bad_image_names_the_file(tmp_path, name, data, problem, role):
    bad = tmp_path / name
    if data is not None:
        bad.write_bytes(data)
    content, style = (bad, STARRY) if role == "content" else (CONTENT, bad)
    with pytest.raises(SystemExit) as error:
        run_optimize(str(content), "--style", str(style), "-o", str(tmp_path / "out.png"), "--steps", "1")
    message = str(error.value.code)
    assert str(bad) in message and problem in message
    assert not (tmp_path / "out.png").exists()


def test_command_needs_content_or_texture(tmp_path):
    with pytest.raises(SystemExit, match="give a content image, or --texture"):
        run_optimize("-o", str(tmp_path / "out.png"))
