"""stylenet stylize: real photos of every mode, a corrupt file, tiling without seams, colour, strength, overwrite,
alpha and 16-bit samples kept, automatic tiling within a memory budget."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from stylize_helpers import KODAK, NEURAL_STYLE, TUBINGEN, checkpoint_fixture  # noqa: F401 - a fixture

from stylenet.checkpoint import load as load_checkpoint
from stylenet.cli import main
from stylenet.color import rgb_to_ycbcr
from stylenet.imageio import load_image, pil_to_tensor
from stylenet.inference import Model, StyleOptions, load_model, stylize
from stylenet.runtimes import BF16_MEAN_TOLERANCE, DEFAULT_TOLERANCE, native_bf16
from stylenet.tiling import stylize_tiled, tile_starts

ROTATE_90_CW = 6  # EXIF orientation: the stored pixels must be turned 90 degrees clockwise for display


def make_inputs(folder):
    """Real photos as a colour JPEG, a greyscale PNG, an RGBA PNG, an EXIF-rotated JPEG, and a truncated JPEG.

    Returns ``{file name: (width, height) as displayed}`` for the readable ones.
    """
    folder.mkdir()
    (folder / "colour.jpg").write_bytes(TUBINGEN.read_bytes())
    Image.open(NEURAL_STYLE / "brad_pitt.jpg").convert("L").save(folder / "grey.png")
    rgba = Image.open(NEURAL_STYLE / "golden_gate.jpg").convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    rgba.save(folder / "alpha.png")
    rotated = Image.open(NEURAL_STYLE / "hoovertowernight.jpg")
    exif = rotated.getexif()
    exif[0x0112] = ROTATE_90_CW
    rotated.save(folder / "rotated.jpg", exif=exif)
    data = KODAK[3].read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    return {"colour.jpg": (683, 512), "grey.png": (512, 647), "alpha.png": (683, 512), "rotated.jpg": (400, 760)}


def test_stylize_folder_of_mixed_images(checkpoint, tmp_path, capsys):
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    displayed = make_inputs(inputs)
    args = ["stylize", str(inputs), "-m", str(checkpoint), "-o", str(outputs), "--size", "96"]
    assert main([*args, "--cache-dir", str(tmp_path / "cache"), "--quiet", "--batch-size", "2"]) == 1
    report = capsys.readouterr()
    assert "failed 1" in report.err and "truncated.jpg" in report.err
    for name, (width, height) in displayed.items():
        result = Image.open(outputs / name)
        assert result.mode == ("RGBA" if name == "alpha.png" else "RGB") and max(result.size) == 96
        assert abs(result.width / result.height - width / height) < 0.02, f"{name} lost its orientation or aspect"
    assert not (outputs / "truncated.jpg").exists()
    assert list((tmp_path / "cache").glob("*.onnx")), "the default CPU path runs a cached ONNX export"


def test_existing_outputs_are_kept_unless_overwrite(checkpoint, tmp_path, capsys):
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    Image.open(TUBINGEN).save(inputs / "photo.png")
    outputs.mkdir()
    (outputs / "photo.png").write_bytes(b"an earlier result")
    args = ["stylize", str(inputs / "photo.png"), "-m", str(checkpoint), "-o", str(outputs), "--size", "64"]
    args += ["--backend", "eager", "--quiet"]
    assert main(args) == 0
    assert "skipped 1" in capsys.readouterr().out
    assert (outputs / "photo.png").read_bytes() == b"an earlier result"
    assert main([*args, "--overwrite"]) == 0
    assert Image.open(outputs / "photo.png").size == (64, round(64 * 512 / 683))


def test_strength_zero_returns_the_content(checkpoint, tmp_path):
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    content = Image.open(KODAK[4]).resize((120, 80))
    content.save(inputs / "photo.png")
    args = ["stylize", str(inputs), "-m", str(checkpoint), "-o", str(outputs), "--backend", "eager", "--quiet"]
    assert main([*args, "--strength", "0"]) == 0
    assert torch.equal(pil_to_tensor(Image.open(outputs / "photo.png")), pil_to_tensor(content))
    assert main([*args, "--strength", "0.5", "--overwrite"]) == 0
    assert not torch.equal(pil_to_tensor(Image.open(outputs / "photo.png")), pil_to_tensor(content))


def test_preserve_color_keeps_the_content_chroma(checkpoint):
    model = load_model(checkpoint, backend="eager")
    content = load_image(KODAK[5], 160)[None]
    plain = stylize(model, content)
    kept = stylize(model, content, StyleOptions(preserve_color=True))

    def chroma_difference(image: torch.Tensor) -> float:
        return float((rgb_to_ycbcr(image)[:, 1:] - rgb_to_ycbcr(content)[:, 1:]).abs().mean())

    assert chroma_difference(kept) < 0.01
    assert chroma_difference(plain) > 3 * chroma_difference(kept)
    torch.testing.assert_close(rgb_to_ycbcr(kept)[:, 0], rgb_to_ycbcr(plain)[:, 0], atol=0.02, rtol=0)


def edge_and_other_errors(tiled: torch.Tensor, whole: torch.Tensor, tile: int, overlap: int) -> tuple[float, float]:
    """Mean abs error of ``tiled`` vs ``whole`` ``(1, 3, S, S)`` within 2 px of inner tile edges, and elsewhere."""
    size = whole.shape[-1]
    error = (tiled - whole).abs().mean(dim=1)[0]
    edges = torch.zeros(size, dtype=torch.bool)
    for start in tile_starts(size, tile, overlap):
        for edge in (start, start + tile):
            if 0 < edge < size:
                edges[max(0, edge - 2) : edge + 2] = True
    near_edges = edges[:, None] | edges[None, :]
    return float(error[near_edges].mean()), float(error[~near_edges].mean())


def test_tiles_match_the_whole_image_without_seams(checkpoint):
    net = load_checkpoint(checkpoint).network
    photo = load_image(KODAK[0], 1536)[None][..., :1024, :1024]  # a real photo at 1024 x 1024
    tile, overlap, stats_size = 384, 64, 512  # statistics from a pass at half the resolution
    model = Model(net, "eager", torch.device("cpu"), net)
    with torch.inference_mode():
        whole = net(photo)
        tiled = stylize(model, photo, StyleOptions(tile=tile, overlap=overlap, stats_size=stats_size))
        hard_cut = stylize_tiled(net, photo, tile, overlap=0, stats_size=stats_size)
    assert (tiled - whole).abs().mean() < 0.05
    near_edges, elsewhere = edge_and_other_errors(tiled, whole, tile, overlap)
    assert near_edges <= 1.1 * elsewhere
    # the same check sees the seams of tiles pasted side by side without overlap
    near_cuts, elsewhere = edge_and_other_errors(hard_cut, whole, tile, 0)
    assert near_cuts > 1.2 * elsewhere


def test_the_working_size_runs_larger_images_at_it_and_upscales_back(checkpoint):
    net = load_checkpoint(checkpoint).network
    seen = []

    def run(images: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(images.shape[-2:]))
        return net(images)

    model = Model(run, "eager", torch.device("cpu"), net)
    photo = load_image(TUBINGEN, 384)[None]  # a real photo, 384 x 288
    small = load_image(TUBINGEN, 160)[None]  # 160 x 120: a shorter side below the working size
    with torch.inference_mode():
        out = stylize(model, photo, StyleOptions(working_size=128))
        native = stylize(model, photo, StyleOptions())
        kept = stylize(model, small, StyleOptions(working_size=128))
    assert seen == [(128, 171), (288, 384), (120, 160)]
    assert out.shape == native.shape == photo.shape and kept.shape == small.shape
    assert out.min() >= 0 and out.max() <= 1
    # the same texture, upscaled: close to the native run's colours, with less of its fine detail
    assert (out.mean((2, 3)) - native.mean((2, 3))).abs().max() < 0.05
    assert (out - native).abs().mean() > 0.02


def test_working_size_flag_runs_single_style_checkpoints_native_and_rejects_bad_sizes(checkpoint, tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.open(TUBINGEN).resize((256, 192)).save(inputs / "photo.png")
    args = ["stylize", str(inputs), "-m", str(checkpoint), "--backend", "eager"]
    # a single-style checkpoint records no training size: the default (trained) runs it at the photo's own size
    assert main([*args, "-o", str(tmp_path / "trained")]) == 0
    assert "shorter side" not in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "native"), "--working-size", "native", "--quiet"]) == 0
    assert main([*args, "-o", str(tmp_path / "at96"), "--working-size", "96"]) == 0
    assert "at a shorter side of 96 px" in capsys.readouterr().err
    trained, native, at96 = (
        pil_to_tensor(Image.open(tmp_path / d / "photo.png")) for d in ("trained", "native", "at96")
    )
    assert torch.equal(trained, native) and at96.shape == native.shape and not torch.equal(at96, native)
    for bad in ("0", "big"):
        with pytest.raises(SystemExit) as exit_info:
            main([*args, "-o", str(tmp_path / "bad"), "--working-size", bad])
        assert exit_info.value.code == 2
        assert (
            f"argument --working-size: {bad!r} is not trained, native or a positive number" in capsys.readouterr().err
        )
    assert not (tmp_path / "bad").exists()


def test_openvino_runs_fp32_like_eager_and_bf16_within_its_rounding(checkpoint, tmp_path):
    net = load_checkpoint(checkpoint).network
    photo = load_image(TUBINGEN, 517)[None][..., :333, :517]  # a real photo of odd size
    with torch.inference_mode():
        expected = net(photo)
    fp32 = load_model(checkpoint, backend="openvino", precision="fp32", cache_dir=tmp_path)
    assert (fp32.backend, fp32.precision) == ("openvino", "fp32")
    assert (fp32.run(photo) - expected).abs().max() < DEFAULT_TOLERANCE
    auto = load_model(checkpoint, cache_dir=tmp_path)
    assert (auto.backend, auto.precision) == (("openvino", "bf16") if native_bf16() else ("onnxruntime", "fp32"))
    with pytest.raises(ValueError, match="bf16"):
        load_model(checkpoint, backend="onnxruntime", precision="bf16", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="bf16"):
        load_model(next(tmp_path.glob("*.onnx")), precision="bf16")
    if not native_bf16():
        with pytest.raises(ValueError, match="natively"):
            load_model(checkpoint, backend="openvino", precision="bf16", cache_dir=tmp_path)
        return
    difference = (load_model(checkpoint, precision="bf16", cache_dir=tmp_path).run(photo) - expected).abs()
    assert difference.max() > DEFAULT_TOLERANCE  # bf16 really ran
    assert difference.mean() < BF16_MEAN_TOLERANCE / 2 and difference.max() < 0.25


def eager_stylize(checkpoint, source, output, *options: str) -> int:
    return main(
        ["stylize", str(source), "-m", str(checkpoint), "-o", str(output), "--backend", "eager", "--quiet", *options]
    )


def test_alpha_is_kept_bit_exact_where_the_format_holds_it_and_composited_elsewhere(checkpoint, tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    photo = Image.open(NEURAL_STYLE / "golden_gate.jpg").convert("RGB").resize((240, 180))
    alpha = Image.linear_gradient("L").resize(photo.size).point(lambda a: 0 if a < 40 else a)  # a clear band too
    rgba = photo.copy()
    rgba.putalpha(alpha)
    rgba.save(inputs / "cutout.png")
    rgba.save(inputs / "cutout.gif", transparency=0)  # GIF holds a transparent palette entry, not an alpha channel
    assert eager_stylize(checkpoint, inputs, tmp_path / "out") == 0
    result = Image.open(tmp_path / "out/cutout.png")
    assert result.mode == "RGBA"
    assert np.array_equal(np.asarray(result)[..., 3], np.asarray(alpha))
    stylized = np.asarray(result)[..., :3].astype(float)
    assert np.abs(stylized - np.asarray(photo)).mean() > 10, "the colour was stylised"
    assert "cutout.gif: dropped the alpha channel (composited on white)" in capsys.readouterr().err
    assert "transparency" not in Image.open(tmp_path / "out/cutout.gif").info


def test_sixteen_bit_inputs_give_sixteen_bit_pngs_or_say_they_were_reduced(checkpoint, tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    photo = np.asarray(Image.open(TUBINGEN).convert("RGB").resize((200, 150)), dtype=np.float64) / 255
    shade = np.linspace(0.0, 1.0, 200)[None, :, None]  # a smooth gradient: 16-bit levels that 8 bits round away
    deep = np.round((photo * 0.9 + shade * 0.1) * 65535).astype(np.uint16)
    assert cv2.imwrite(str(inputs / "deep.png"), deep[..., ::-1])  # OpenCV writes BGR
    Image.fromarray(deep[..., 1]).save(inputs / "deep.pgm")  # 16-bit greyscale PGM: mode I
    assert eager_stylize(checkpoint, inputs, tmp_path / "out") == 0
    result = cv2.imread(str(tmp_path / "out/deep.png"), cv2.IMREAD_UNCHANGED)
    assert result.dtype == np.uint16 and result.shape == (150, 200, 3)
    assert np.mean(result % 257 != 0) > 0.5, "more levels than an 8-bit image widened to 16 bits"
    eight_bit = tmp_path / "in8"
    eight_bit.mkdir()
    Image.fromarray(np.round(deep / 257).astype(np.uint8)).save(eight_bit / "deep.png")
    assert eager_stylize(checkpoint, eight_bit, tmp_path / "out8") == 0
    reference = np.asarray(Image.open(tmp_path / "out8/deep.png"), dtype=np.float64) / 255
    assert np.abs(result[..., ::-1] / 65535 - reference).mean() < 0.01, "the same stylisation at 16 bits"
    assert "deep.pgm: reduced 16-bit samples to 8 bits: .pgm holds 8" in capsys.readouterr().err
    assert Image.open(tmp_path / "out/deep.pgm").mode == "RGB"


def test_an_image_over_the_memory_budget_is_tiled_and_matches_the_untiled_output(checkpoint, tmp_path, capsys):
    whole, tiled = tmp_path / "whole", tmp_path / "tiled"
    assert eager_stylize(checkpoint, TUBINGEN, whole, "--size", "1500") == 0
    assert "tiles" not in capsys.readouterr().err
    assert eager_stylize(checkpoint, TUBINGEN, tiled, "--size", "1500", "--memory-budget", "0.05") == 0
    notice = [line for line in capsys.readouterr().err.splitlines() if "memory budget" in line]
    assert len(notice) == 1 and "tubingen.jpg: 1500x1124 needs" in notice[0] and "px tiles" in notice[0]
    expected, found = (pil_to_tensor(Image.open(folder / TUBINGEN.name)) for folder in (whole, tiled))
    assert expected.shape == found.shape == (3, 1124, 1500)
    assert (found - expected).abs().mean() < 0.05
    assert not torch.equal(found, expected), "it really ran in tiles"
