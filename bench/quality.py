"""Stylisation quality against a pretrained peer: train a preset on a step budget, stylise photos that training
never saw, and score them with ``stylenet evaluate`` next to the peer's net on the same photos and style image.

    python bench/quality.py                                   # udnie, scream and wave at the CPU default's budget
    python bench/quality.py --styles udnie --out /tmp/quality -- style.style_weight=3e10 trainer.max_steps=800
    python bench/quality.py --styles wave --checkpoint run/checkpoints/last.ckpt     # score a trained net only

For each style, ``python train.py style=<preset> style.image=<the peer's style image> data.val_size=12`` plus the
overrides after ``--`` (by default nothing else: the step budget of the CPU default run) writes
``<out>/<style>/train``, resuming that run's ``last.ckpt`` when there is one (``ckpt_path=last``: a rerun of an
interrupted bench continues it, and a finished run is scored again without training). The 12 photos that run holds
out for validation (the data module's seeded split of the shared photos; never trained on) are resized to a longest
side of ``--size`` and written to ``<out>/photos``. The peer's net (``../shared/peers/stylize_peer.py``:
lengstrom/fast-style-transfer's pretrained nets, a benchmark anchor only) and ``stylenet stylize`` stylise them, and
``stylenet evaluate --outputs`` scores both folders against the same style image with the shared normalised VGG19
(``--scorer vgg19``: not the VGG16 that training uses): the content distance at relu4_2 and the style distance
(relative Gram error at relu1_1 ... relu5_1, the style image at the photos' scale). It prints both with their ratios
to the peer's, and the shares of each folder's pixels in blob artefacts (:mod:`stylenet.blob_artefacts`: isolated
near-white and clipped-black regions that the photo does not have, a column each), and writes
``<out>/<style>/sheet.jpg``: photo | peer | stylenet for the first ``--sheet-rows`` photos, and with several styles
``<out>/gallery.jpg``, their sheets one under the other.
The meta network's counterpart, against AdaIN on held-out artworks: ``bench/metanet_quality.py``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hydra.utils import instantiate
from PIL import Image, ImageDraw

from stylenet.blob_artefacts import blob_shares
from stylenet.config import compose_config, shared_dir
from stylenet.imageio import load_image, open_image

ROOT = Path(__file__).resolve().parents[1]
PEERS = shared_dir() / "peers"
PRESETS = {"udnie": "udnie", "scream": "scream", "wave": "wave"}  # peer net -> style preset
HELD_OUT, PHOTOS = 24, 12  # photos held out from training; the first 12 of them not smaller than 3/4 of --size
CONTENT_TAP, SCORER = "relu4_2", "vgg19"


def run(command: list[str], log: Path) -> None:
    """Run ``command`` from the project root with its output in ``log``; raise with the log's tail if it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as handle:  # appended: a rerun resumes the run (train.log keeps both parts)
        done = subprocess.run(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise SystemExit(f"{' '.join(command[:3])} ... failed (exit {done.returncode}); see {log}:\n{tail}")


def train_overrides(style: str, overrides: list[str]) -> list[str]:
    return [f"style={PRESETS[style]}", f"style.image={PEERS / 'lengstrom' / f'{style}.jpg'}",
            f"data.val_size={HELD_OUT}", *overrides]  # fmt: skip


def held_out_files(overrides: list[str], part: str | None = None) -> list[Path]:
    """The images the training run of ``overrides`` holds out for validation (its data module's split); ``part``
    names a data module inside it (``content`` or ``style`` of the meta network's)."""
    data = instantiate(compose_config("train", overrides).data)
    data.setup("fit")
    split = getattr(data, part).val_set if part else data.val_set
    return [Path(split.images[i][split.column]["path"]) for i in range(len(split))]


def sharp_photos(files: list[Path], size: int) -> list[Path]:
    """The first :data:`PHOTOS` of ``files`` whose longest side is at least 3/4 of ``size`` (no blurry 224-px
    upscales)."""
    sharp = [file for file in files if 4 * max(open_image(file).size) >= 3 * size][:PHOTOS]
    if len(sharp) < PHOTOS:
        raise SystemExit(f"only {len(sharp)} held-out photos have a longest side of {3 * size // 4} px or more")
    return sharp


def write_photos(files: list[Path], folder: Path, size: int) -> None:
    """:func:`sharp_photos` of ``files`` at a longest side of ``size`` as PNG: both nets get exactly these pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    for file in sharp_photos(files, size):
        image = open_image(file)
        scale = size / max(image.size)
        image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS).save(
            folder / f"{file.stem}.png"
        )


def mean_scores(evaluation: Path) -> dict[str, float]:
    """Mean content and style distance of an ``evaluation.csv``."""
    with evaluation.open() as handle:
        rows = list(csv.DictReader(handle))
    return {key: statistics.fmean(float(row[key]) for row in rows) for key in ("content_distance", "style_distance")}


def score(outputs: Path, photos: Path, style_image: Path, size: int, folder: Path) -> dict[str, float]:
    run([sys.executable, "-m", "stylenet.cli", "evaluate", "--outputs", str(outputs), "--content", str(photos),
         "--styles", str(style_image), "--size", str(size), "--style-size", str(size), "--content-tap", CONTENT_TAP,
         "--scorer", SCORER, "-o", str(folder)], folder / "evaluate.log")  # fmt: skip
    return mean_scores(folder / "evaluation.csv")


Scores = dict[str, dict[str, float]]  # {images: {"content_distance": ..., "style_distance": ..., ...}}


def ratio_table(results: dict[str, Scores], anchor: str, extra: dict[str, Callable[[Scores, str], float]]) -> str:
    """A line per images of each group of ``results``: the content and style distance, their ratios to the
    ``anchor`` images' in the same group, and each ``extra`` column (``column(group's scores, images)``)."""
    head = ["", "images", "content", "style", f"content/{anchor}", f"style/{anchor}", *extra]
    lines = [head]
    for group, scores in results.items():
        for name, values in scores.items():
            content, style = values["content_distance"], values["style_distance"]
            ratios = content / scores[anchor]["content_distance"], style / scores[anchor]["style_distance"]
            cells = [f"{content:.3f}", f"{style:.3f}", *(f"{v:.2f}" for v in ratios)]
            lines.append([group, name, *cells, *(f"{column(scores, name):.2f}" for column in extra.values())])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    )


def scores_column(key: str) -> Callable[[Scores, str], float]:
    """A :func:`ratio_table` column of the scores' ``key``."""
    return lambda scores, images: scores[images][key]


def blob_percents(outputs: Path, photos: Path) -> dict[str, float]:
    """The percentages of the outputs' pixels in white and in dark blob artefacts (:mod:`stylenet.blob_artefacts`)."""
    names = sorted(p.name for p in photos.glob("*.png"))
    photo_images = [load_image(photos / name) for name in names]
    # the peer's net rounds sizes up to a multiple of 4: its outputs are cropped back to the photo
    output_images = [
        load_image(outputs / name)[:, : p.shape[1], : p.shape[2]] for name, p in zip(names, photo_images, strict=True)
    ]
    white, dark = blob_shares(output_images, photo_images)
    return {"white_blobs": 100 * white, "dark_blobs": 100 * dark}


def sheet(rows: list[list[Path]], labels: list[str], target: Path, tile: int = 320) -> None:
    """One row of images per list in ``rows`` (the first sets each row's width), columns under ``labels``, each tile
    ``tile`` px high."""
    tiles = [[Image.open(file).convert("RGB") for file in row] for row in rows]
    widths = [max(round(row[0].width * tile / row[0].height), 1) for row in tiles]
    canvas = Image.new("RGB", (max(widths) * len(labels), tile * len(rows) + 24), "white")
    draw = ImageDraw.Draw(canvas)
    for column, label in enumerate(labels):
        draw.text((column * max(widths) + 6, 6), label, fill="black")
    for row, (images, width) in enumerate(zip(tiles, widths, strict=True)):
        for column, image in enumerate(images):
            canvas.paste(image.resize((width, tile), Image.LANCZOS), (column * max(widths), 24 + row * tile))
    canvas.save(target, quality=90)


def gallery(sheets: dict[str, Path], target: Path, width: int = 1200) -> None:
    """The styles' sheets stacked top to bottom at one width, each under its style's name."""
    images = {style: Image.open(path).convert("RGB") for style, path in sheets.items()}
    images = {s: im.resize((width, round(im.height * width / im.width)), Image.LANCZOS) for s, im in images.items()}
    canvas = Image.new("RGB", (width, sum(im.height + 20 for im in images.values())), "white")
    draw, top = ImageDraw.Draw(canvas), 0
    for style, image in images.items():
        draw.text((6, top + 4), style, fill="black")
        canvas.paste(image, (0, top + 20))
        top += image.height + 20
    canvas.save(target, quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--styles", nargs="+", choices=sorted(PRESETS), default=["udnie", "scream", "wave"])
    parser.add_argument("--out", type=Path, default=ROOT / "outputs/quality")
    parser.add_argument("--size", type=int, default=512, help="longest side of the photos, stylised and scored")
    parser.add_argument("--checkpoint", type=Path, help="score this net instead of training one (one style)")
    parser.add_argument("--sheet-rows", type=int, default=4)
    parser.add_argument("overrides", nargs="*", help="train.py overrides after --, e.g. trainer.max_steps=1500")
    args = parser.parse_args()
    if args.checkpoint and len(args.styles) != 1:
        parser.error("--checkpoint scores one style: pass one --styles")
    results = []
    for style in args.styles:
        overrides, folder = train_overrides(style, args.overrides), args.out / style
        photos = args.out / "photos"
        write_photos(held_out_files(overrides), photos, args.size)
        checkpoint, minutes = args.checkpoint, float("nan")
        if checkpoint is None:
            start = time.perf_counter()
            run(
                [sys.executable, "train.py", *overrides, "ckpt_path=last", f"hydra.run.dir={folder / 'train'}"],
                folder / "train.log",
            )
            checkpoint, minutes = folder / "train/checkpoints/last.ckpt", (time.perf_counter() - start) / 60
        peer, ours = folder / "peer", folder / "stylenet"
        style_image = PEERS / "lengstrom" / f"{style}.jpg"
        run([sys.executable, str(PEERS / "stylize_peer.py"), style, str(photos), str(peer)], folder / "peer.log")
        run([sys.executable, "-m", "stylenet.cli", "stylize", str(photos), "-m", str(checkpoint), "-o", str(ours),
             "--overwrite", "--quiet"], folder / "stylize.log")  # fmt: skip
        scores = {name: {**score(out, photos, style_image, args.size, folder / f"eval_{name}"),
                         **blob_percents(out, photos)}
                  for name, out in (("photo", photos), ("peer", peer), ("stylenet", ours))}  # fmt: skip
        names = sorted(p.name for p in photos.glob("*.png"))[: args.sheet_rows]
        rows = [[photos / name, peer / name, ours / name] for name in names]
        sheet(rows, ["photo", "peer (lengstrom)", "stylenet"], folder / "sheet.jpg")
        results.append((style, scores, minutes, folder / "sheet.jpg"))
        print(f"{style}: {checkpoint} (trained {minutes:.1f} min), {len(list(photos.glob('*.png')))} held-out photos "
              f"at {args.size} px; sheet {folder / 'sheet.jpg'}", flush=True)  # fmt: skip
    if len(results) > 1:
        gallery({style: path for style, *_, path in results}, args.out / "gallery.jpg")
        print(f"gallery of the styles: {args.out / 'gallery.jpg'}")
    print(
        "\n"
        + ratio_table(
            {style: scores for style, scores, *_ in results},
            "peer",
            {"white blob %": scores_column("white_blobs"), "dark blob %": scores_column("dark_blobs")},
        )
    )


if __name__ == "__main__":
    main()
