"""stylenet evaluate on real photos, real styles and the real VGG16/LPIPS weights: the numbers move the right way."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import KODAK, SHARED, STARRY, WEIGHTS, compose_train
from PIL import Image

from stylenet.cli import main
from stylenet.evaluation import Scorer
from stylenet.imageio import load_image, save_image
from stylenet.losses import ContentLoss, GramLoss, PerceptualLoss
from stylenet.metrics import STYLE_TAPS, edge_ssim, load_lpips_heads, lpips_distance, style_distance
from stylenet.pixel_optimization import stylize_by_optimization

CONTENTS = [KODAK[-1], KODAK[3]]  # kodim24 (a mural), kodim07 (flowers)
SIZE = 96
LPIPS = WEIGHTS / "lpips_vgg_lin.pth"


def run_evaluate(tmp_path: Path, *args: str) -> list[dict[str, str]]:
    """``stylenet evaluate ... -o tmp_path``; the rows of its CSV."""
    assert main(["evaluate", *args, "-o", str(tmp_path), "--size", str(SIZE), "--style-size", "128"]) == 0
    assert (tmp_path / "contact_sheet.png").is_file()
    with (tmp_path / "evaluation.csv").open() as handle:
        return list(csv.DictReader(handle))


def content_args() -> list[str]:
    return ["--content", *map(str, CONTENTS), "--styles", str(STARRY)]


@pytest.fixture(scope="module")
def stylised(vgg16, tmp_path_factory) -> Path:
    """Folder of real Gatys stylisations ``<content>__starry_night.png`` (Adam, 40 steps at 96 px)."""
    folder = tmp_path_factory.mktemp("stylised")
    loss = PerceptualLoss(vgg16, ContentLoss(["relu2_2"], 1e5), [GramLoss(list(STYLE_TAPS), 1e10)])
    for content in CONTENTS:
        result = stylize_by_optimization(loss, load_image(content, SIZE), [load_image(STARRY, 128)], 40, "adam", 0.03)
        save_image(result.image[0], folder / f"{content.stem}__{STARRY.stem}.png")
    return folder


def test_the_content_scores_zero_distance_against_itself(tmp_path, capsys):
    rows = run_evaluate(tmp_path, "--outputs", str(KODAK[0].parent), *content_args())
    assert [Path(row["content"]) for row in rows] == CONTENTS
    for row in rows:
        assert float(row["content_distance"]) < 1e-4
        assert float(row["lpips_vgg"]) < 1e-4
        assert float(row["edge_ssim"]) > 0.9999
        assert float(row["style_distance"]) > 0.3
    assert "content_distance (relu2_2)" in capsys.readouterr().out


def test_a_stylised_output_is_closer_to_its_style_than_the_photo(tmp_path, stylised):
    photos = run_evaluate(tmp_path / "photos", "--outputs", str(KODAK[0].parent), *content_args())
    outputs = run_evaluate(tmp_path / "outputs", "--outputs", str(stylised), *content_args())
    for photo, output in zip(photos, outputs, strict=True):
        assert float(output["style_distance"]) < 0.8 * float(photo["style_distance"])
        assert float(output["content_distance"]) > 0.05
        assert float(output["lpips_vgg"]) > 0.05
        assert float(output["edge_ssim"]) < 0.99
    sheet = Image.open(tmp_path / "outputs" / "contact_sheet.png")
    assert sheet.width == 3 * 192 and sheet.height > 2 * SIZE


def test_the_vgg19_scorer_agrees_on_the_direction_and_skips_lpips(tmp_path, stylised, capsys):
    vgg19 = ["--scorer", "vgg19", "--content-tap", "relu4_2", *content_args()]
    photos = run_evaluate(tmp_path / "photos", "--outputs", str(KODAK[0].parent), *vgg19)
    outputs = run_evaluate(tmp_path / "outputs", "--outputs", str(stylised), *vgg19)
    vgg16 = run_evaluate(tmp_path / "vgg16", "--outputs", str(stylised), "--content-tap", "relu4_2", *content_args())
    for photo, output, other in zip(photos, outputs, vgg16, strict=True):
        assert float(photo["content_distance"]) < 1e-4 and float(output["content_distance"]) > 0.05
        assert float(output["style_distance"]) < 0.8 * float(photo["style_distance"])
        assert output["style_distance"] != other["style_distance"], "another network, other numbers"
        assert output["lpips_vgg"] == "skipped"
    assert "LPIPS's heads are for VGG16, not VGG19" in capsys.readouterr().out


def test_missing_weights_are_reported_as_skipped(tmp_path, capsys):
    rows = run_evaluate(tmp_path / "a", "--outputs", str(KODAK[0].parent), *content_args(), "--lpips-weights", "no.pth")
    assert {row["lpips_vgg"] for row in rows} == {"skipped"}
    assert all(float(row["style_distance"]) > 0 for row in rows)
    assert "skipped lpips_vgg: LPIPS weights not found: no.pth" in capsys.readouterr().out

    rows = run_evaluate(tmp_path / "b", "--outputs", str(KODAK[0].parent), *content_args(), "--vgg-weights", "no.pth")
    assert all(row[m] == "skipped" for row in rows for m in ("content_distance", "lpips_vgg", "style_distance"))
    assert all(float(row["edge_ssim"]) > 0.9999 for row in rows)
    assert "skipped style_distance: VGG16 weights not found: no.pth" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "missing.ckpt"], "model not found: missing.ckpt"),
        (["--outputs", "missing_folder"], "outputs folder not found: missing_folder"),
        (["--outputs", ".", "--content", "missing.jpg"], "image not found: missing.jpg"),
        (["--outputs", ".", "--content", "list.txt"], "image list not found: list.txt"),
        (["--outputs", str(KODAK[0].parent), "--content", str(KODAK[0])], "expected kodim01__starry_night.<ext>"),
        (["--outputs", str(KODAK[0].parent), "--styles", str(STARRY), "--content-tap", "relu9"], "unknown vgg16 tap"),
    ],
)
def test_bad_input_fails_with_a_clear_message(tmp_path, args, message):
    with pytest.raises(SystemExit, match=message):
        main(["evaluate", *args, "-o", str(tmp_path)])


def test_a_checkpoint_is_evaluated_on_its_own_style_from_a_list(tmp_path, capsys):
    from train import train

    train(compose_train(tmp_path / "run", ["trainer.max_steps=1", "+trainer.limit_val_batches=0"]))
    listing = tmp_path / "photos.txt"
    listing.write_text(f"# one photo\n{KODAK[0].resolve()}\n")
    model = tmp_path / "run/checkpoints/last.ckpt"
    cache = tmp_path / "cache"
    rows = run_evaluate(tmp_path / "eval", "-m", str(model), "--content", str(listing), "--cache-dir", str(cache))
    assert len(rows) == 1 and Path(rows[0]["style"]).resolve() == STARRY.resolve()
    assert float(rows[0]["content_distance"]) > 0 and 0 < float(rows[0]["edge_ssim"]) < 1
    assert "onnxruntime model" in capsys.readouterr().out


def test_a_meta_network_is_evaluated_on_every_style(tmp_path):
    from test_metanet import compose_metanet

    from train import train

    tiny = ["model.num_blocks=1", "model.group_width=8", "data.content.image_size=32", "data.style.image_size=32"]
    tiny += ["data.content.batch_size=2", "data.content.max_images=4", "data.style.max_images=4"]
    tiny += ["data.content.val_size=2", "data.style.val_size=2", "+trainer.limit_val_batches=0"]
    train(compose_metanet(tmp_path / "run", [*tiny, "trainer.max_steps=1", "callbacks.sample_grid.every_n_steps=5"]))
    candy = SHARED / "images/style/fast_neural_style/candy.jpg"
    model = str(tmp_path / "run/checkpoints/last.ckpt")
    rows = run_evaluate(tmp_path / "eval", "-m", model, "--content", str(KODAK[0]), "--styles", str(STARRY), str(candy))
    assert [Path(row["style"]).name for row in rows] == ["starry_night.jpg", "candy.jpg"]
    assert rows[0]["style_distance"] != rows[1]["style_distance"]


def test_metrics_on_hand_made_changes(vgg16):
    photo = load_image(KODAK[0], SIZE)[None]
    blurred = F.avg_pool2d(F.pad(photo, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    assert edge_ssim(photo, photo).item() == pytest.approx(1.0, abs=1e-6)
    assert edge_ssim(photo, blurred).item() < edge_ssim(photo, 0.5 * photo + 0.5 * blurred).item() < 1
    assert edge_ssim(photo, torch.full_like(photo, 0.5)).item() < 0.05
    heads = load_lpips_heads(LPIPS)
    features = {name: vgg16(x, heads) for name, x in (("photo", photo), ("blurred", blurred))}
    noisy = vgg16((photo + 0.2 * torch.randn_like(photo)).clamp(0, 1), heads)
    assert lpips_distance(features["blurred"], features["photo"], heads).item() > 0
    assert (
        lpips_distance(noisy, features["photo"], heads).item()
        > lpips_distance(features["blurred"], features["photo"], heads).item()
    )
    style = vgg16(load_image(STARRY, 128)[None], STYLE_TAPS)
    half = vgg16(load_image(STARRY, 64)[None], STYLE_TAPS)
    assert style_distance(style, style).item() == 0.0
    assert style_distance(half, style).item() < style_distance(vgg16(photo, STYLE_TAPS), style).item()


def test_bad_lpips_weights_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="LPIPS weights not found"):
        load_lpips_heads(tmp_path / "none.pth")
    with pytest.raises(ValueError, match=r"vgg16_imagenet_features\.pth does not hold LPIPS VGG heads"):
        load_lpips_heads(WEIGHTS / "vgg16_imagenet_features.pth")


def test_keyed_scores_reuse_the_references_and_equal_the_unkeyed_ones(vgg16):
    scorer = Scorer(vgg16, load_lpips_heads(LPIPS), "relu2_2")
    passes = []
    hook = vgg16.register_forward_hook(lambda *_: passes.append(1))
    photos = {file: load_image(file, SIZE)[None] for file in KODAK[:2]}
    styles = {size: load_image(STARRY, size)[None] for size in (96, 128)}
    pairs = [(file, size) for file in photos for size in styles]  # content-major, two style sizes
    outputs = [(photo + 0.1 * torch.randn_like(photo)).clamp(0, 1) for photo in photos.values() for _ in styles]
    try:
        keyed = [
            scorer.score(o, photos[f], styles[s], key=(f, STARRY)) for o, (f, s) in zip(outputs, pairs, strict=True)
        ]
        keyed_passes, passes[:] = len(passes), []
        plain = [scorer.score(o, photos[f], styles[s]) for o, (f, s) in zip(outputs, pairs, strict=True)]
    finally:
        hook.remove()
    assert keyed == plain  # the same numbers, exactly
    # each output once, each photo once, the style once at each of its sizes (the file alone is not the key)
    assert keyed_passes == len(outputs) + len(photos) + len(styles) < len(passes) == 3 * len(outputs)
