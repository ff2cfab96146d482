"""Super-resolution: the test sets' conventions reproduce published figures; the network, system and config."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from conftest import SHARED, VGG16, compose_train
from PIL import Image

from stylenet.bicubic import bicubic_downsample, bicubic_upsample, degrade
from stylenet.checkpoint import load
from stylenet.models import get_model
from stylenet.models.subpixel import fold_upsampling
from stylenet.sr_evaluation import SRScorer, benchmark_images, bicubic, evaluate_sr, sr_summary
from train import train

WEIGHTS = SHARED / "weights"


def mean_psnr(test_set: str, factor: int, degradation: str = "bicubic") -> float:
    images = {test_set: benchmark_images(test_set)}
    results = evaluate_sr({"bicubic": bicubic(factor)}, images, factor, [degradation], SRScorer(None, None))
    return float(np.mean([r.scores["psnr_y"] for r in results]))


def test_bicubic_x4_on_set5_reproduces_the_published_psnr():
    table = {(s, f): mean_psnr(s, f) for s in ("set5", "set14") for f in (2, 3, 4, 8)}
    print("\nbicubic PSNR-Y (dB): " + ", ".join(f"{s} x{f} {v:.2f}" for (s, f), v in table.items()))
    assert abs(table["set5", 4] - 28.42) <= 0.05


@pytest.mark.parametrize(("factor", "published"), [(2, 33.66), (3, 30.39)])
def test_bicubic_x2_x3_on_set5_match_published_tables(factor, published):
    assert abs(mean_psnr("set5", factor) - published) <= 0.05


def test_the_downsampling_is_matlabs_inside_the_image_and_blur_makes_it_softer():
    path = benchmark_images("set5")[0]
    with Image.open(path) as picture:
        w, h = picture.size
        truth = picture.convert("RGB").crop((0, 0, w - w % 4, h - h % 4))
        pil = torch.from_numpy(np.array(truth.resize((truth.width // 4, truth.height // 4), Image.BICUBIC)))
    ours = bicubic_downsample(torch.from_numpy(np.array(truth)).permute(2, 0, 1)[None].double() / 255, 4) * 255
    ours = ours.round().clamp(0, 255)[0].permute(1, 2, 0)
    assert (ours - pil.double())[3:-3, 3:-3].abs().max() <= 1  # PIL's bicubic (a = -0.5, antialiased), 8 bits
    image = torch.from_numpy(np.array(truth)).permute(2, 0, 1)[None].float() / 255
    sharp, blurred = degrade(image, 4, "bicubic"), degrade(image, 4, "blur_bicubic")
    assert sharp.shape == blurred.shape == (1, 3, truth.height // 4, truth.width // 4)
    assert torch.equal(sharp, (sharp * 255).round() / 255)  # 8-bit levels
    assert blurred.diff(dim=-1).abs().mean() < sharp.diff(dim=-1).abs().mean()
    assert bicubic_upsample(sharp, 4).shape == image.shape
    with pytest.raises(ValueError, match="degradation"):
        degrade(image, 4, "jpeg")


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_the_network_upscales_any_size_and_folds_for_inference(factor):
    net = get_model("super_resolution_net", factor=factor, channels=16).eval()
    for h, w in [(13, 7), (3, 2), (32, 48)]:
        low = torch.rand(2, 3, h, w)
        out = net(low)
        assert out.shape == (2, 3, factor * h, factor * w) and out.min() >= 0 and out.max() <= 1
        assert (fold_upsampling(net)(low) - out).abs().max() < 1e-5
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 1 + 2 * 4 + factor.bit_length() - 1
    instance = get_model("super_resolution_net", factor=factor, norm="instance")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in instance.modules())
    with pytest.raises(ValueError, match="factor"):
        get_model("super_resolution_net", factor=3)


@pytest.mark.parametrize("loss", ["sr_feature", "sr_pixel"])
def test_a_short_training_run_writes_a_super_resolution_checkpoint(tmp_path, loss):
    overrides = ["experiment=sr_x4", f"loss={loss}", "data.image_size=64", "trainer.max_steps=4",
                 "trainer.val_check_interval=2", "callbacks.sample_grid.every_n_steps=2"]  # fmt: skip
    metrics = train(compose_train(tmp_path, overrides))
    assert {"val/psnr_y", "val/ssim_y", "val/psnr_y_gain"} <= set(metrics)
    term = "val/content/relu2_2" if loss == "sr_feature" else "val/pixel"
    assert term in metrics
    loaded = load(tmp_path / "checkpoints" / "last.ckpt", kind="super_resolver")
    assert loaded.metadata["super_resolution"] == {"factor": 4, "degradation": "blur_bicubic", "blur_sigma": 1.0}
    assert loaded.network(torch.rand(1, 3, 10, 12)).shape == (1, 3, 40, 48)
    assert (tmp_path / "samples" / "last.png").is_file()
    with pytest.raises(ValueError, match=r"not a single-style checkpoint \(it is a super-resolution one\)"):
        load(tmp_path / "checkpoints" / "last.ckpt", kind="stylizer")


def test_the_scorer_reports_lpips_and_feature_distance_lower_for_better_images():
    scorer = SRScorer.from_files(VGG16, WEIGHTS / "lpips_vgg_lin.pth")
    path = benchmark_images("set5")[1]
    truth = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 255
    truth = truth[..., : truth.shape[-2] // 4 * 4, : truth.shape[-1] // 4 * 4]
    x2, x4 = (bicubic_upsample(degrade(truth, f, "bicubic"), f).clamp(0, 1) for f in (2, 4))
    near, far = scorer.score(x2, truth, 2), scorer.score(x4, truth, 4)
    assert near["psnr_y"] > far["psnr_y"] and near["ssim_y"] > far["ssim_y"]
    assert near["lpips_vgg"] < far["lpips_vgg"] and near["feature_distance"] < far["feature_distance"]
    assert "set5" in sr_summary(evaluate_sr({"bicubic": bicubic(4)}, {"set5": [path]}, 4, ["bicubic"], scorer))


@pytest.fixture(scope="module")
def sr_checkpoint(tmp_path_factory):
    """A real x4 checkpoint: 2 steps of the sr_x4 experiment (a narrow net) on real photos."""
    output = tmp_path_factory.mktemp("sr_run")
    train(compose_train(output, ["experiment=sr_x4", "data.image_size=64", "trainer.max_steps=2"]))
    return output / "checkpoints" / "last.ckpt"


def test_upscale_writes_each_image_at_four_times_its_size_in_its_mode_and_tiles_large_ones(sr_checkpoint, tmp_path):
    from stylenet.cli import main
    from stylenet.upscaling import load_upscaler, upscale

    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    with Image.open(benchmark_images("set14")[0]) as photo:
        photo.convert("RGB").resize((61, 43)).save(inputs / "odd.jpg")
        photo.convert("L").resize((20, 30)).save(inputs / "grey.png")
        rgba = photo.convert("RGBA").resize((24, 16))
    rgba.putalpha(Image.linear_gradient("L").resize((24, 16)))
    rgba.save(inputs / "alpha.png")
    deep = (np.linspace(0, 65535, 40 * 30).reshape(30, 40)).astype(np.uint16)
    Image.fromarray(deep).save(inputs / "deep.png")
    Image.new("RGB", (1, 1), "red").save(inputs / "pixel.png")
    (inputs / "truncated.jpg").write_bytes((inputs / "odd.jpg").read_bytes()[:300])
    args = ["upscale", str(inputs), "-m", str(sr_checkpoint), "-o", str(outputs), "--quiet", "--backend", "eager"]
    assert main(args) == 1  # the truncated file fails, the others are written
    sizes = {"odd.jpg": (244, 172), "grey.png": (80, 120), "alpha.png": (96, 64), "deep.png": (160, 120)}
    for name, size in {**sizes, "pixel.png": (4, 4)}.items():
        with Image.open(outputs / name) as result:
            assert result.size == size, name
            if name == "alpha.png":
                assert result.mode == "RGBA"
    assert not (outputs / "truncated.jpg").exists()
    upscaler = load_upscaler(sr_checkpoint, backend="eager")
    large = torch.rand(1, 3, 90, 70)
    assert (upscale(upscaler, large, tile=48) - upscale(upscaler, large, tile=None)).abs().max() < 1e-5


def test_each_command_refuses_the_other_products_checkpoint_in_one_line(sr_checkpoint, tmp_path):
    from stylize_helpers import TUBINGEN, train_checkpoint

    from stylenet.cli import main

    style = train_checkpoint(tmp_path / "style.ckpt")
    with pytest.raises(SystemExit) as refused:
        main(["upscale", str(TUBINGEN), "-m", str(style), "-o", str(tmp_path / "a")])
    assert (
        str(refused.value)
        == f"stylenet upscale: error: {style} is not a super-resolution checkpoint (it is a single-style one)"
    )
    with pytest.raises(SystemExit) as refused:
        main(["stylize", str(TUBINGEN), "-m", str(sr_checkpoint), "-o", str(tmp_path / "b"), "--backend", "eager"])
    assert str(refused.value) == (
        f"stylenet stylize: error: {sr_checkpoint} is a super-resolution checkpoint; this needs a single-style or "
        "meta-network one"
    )


def test_evaluate_sr_writes_csv_summary_and_sheet_for_the_model_and_bicubic(sr_checkpoint, tmp_path, capsys):
    from stylenet.cli import main

    args = ["evaluate-sr", "-m", str(sr_checkpoint), "-o", str(tmp_path), "--sets", "set5", "--backend", "eager"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "evaluation.csv").open()))
    assert len(rows) == 5 * 2 * 2  # images x degradations x methods
    assert {r["method"] for r in rows} == {"bicubic", "last"}
    assert {r["degradation"] for r in rows} == {"bicubic", "blur_bicubic"}
    standard = [float(r["psnr_y"]) for r in rows if r["method"] == "bicubic" and r["degradation"] == "bicubic"]
    assert abs(np.mean(standard) - 28.42) <= 0.05 and "lpips_vgg" in printed
    assert Image.open(tmp_path / "contact_sheet.png").width > 7 * 100
    args = ["evaluate-sr", "--bicubic", "--factors", "2", "8", "-o", str(tmp_path / "b"), "--degradations", "bicubic"]
    assert main([*args, "--vgg-weights", str(tmp_path / "absent.pth")]) == 0  # PSNR and SSIM only
    table = capsys.readouterr().out
    assert "set14" in table and " 8 " in table and "skipped lpips_vgg: VGG16 weights not found" in table


def test_export_and_the_cpu_runtimes_run_the_super_resolution_net_like_eager(sr_checkpoint, tmp_path):
    import json

    from stylenet.cli import main
    from stylenet.runtimes import BF16_MEAN_TOLERANCE, native_bf16
    from stylenet.upscaling import load_upscaler, upscale

    assert main(["export", str(sr_checkpoint), "-o", str(tmp_path / "sr_x4")]) == 0
    sidecar = json.loads((tmp_path / "sr_x4.json").read_text())
    assert sidecar["kind"] == "super_resolver" and sidecar["output"]["scale"] == 4
    low = torch.rand(1, 3, 37, 29)
    eager = upscale(load_upscaler(sr_checkpoint, backend="eager"), low, tile=None)
    for backend, precision in [("torchscript", "fp32"), ("onnxruntime", "fp32"), ("openvino", "auto")]:
        upscaler = load_upscaler(sr_checkpoint, backend=backend, precision=precision, cache_dir=tmp_path / "cache")
        difference = (upscale(upscaler, low, tile=None) - eager).abs()
        if upscaler.model.precision == "bf16":
            assert native_bf16() and difference.mean() < BF16_MEAN_TOLERANCE
        else:
            assert difference.max() < 1e-4, backend


def test_an_image_too_small_for_the_factor_is_named_in_one_line(tmp_path):
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (6, 40), "white").save(tiny)
    with pytest.raises(ValueError, match=r"tiny.png is too small for x4 \(\(40, 4\) px\)"):
        evaluate_sr({"bicubic": bicubic(4)}, {"mine": [tiny]}, 4, ["bicubic"], SRScorer(None, None))
