"""Any-style quality against AdaIN: train the meta network on a CPU budget (or take a checkpoint), stylise photos
with artworks that training never saw, at each of several sizes, and score them with ``stylenet evaluate`` next to
AdaIN on the same pairs. The meta network's counterpart of ``bench/quality.py``.

    python -m bench.metanet_quality                                    # experiment=metanet_cpu, 384 and 768 px
    python -m bench.metanet_quality --checkpoint run/checkpoints/last.ckpt --sizes 384
    python -m bench.metanet_quality --out /tmp/mq -- system.embedding_size=96 trainer.max_steps=3000

``python train.py experiment=metanet_cpu data.content.val_size=64`` plus the overrides after ``--`` writes
``<out>/train``, resumed like bench/quality.py's runs. The artworks that run holds out (the style data module's
seeded split: 8) and the first 12 photos it holds out with a longest side of at least 3/4 of the largest ``--sizes``
value (the same photos at every size) are written at a longest side of each ``--sizes`` value, under
``<out>/<size>/``. There, AdaIN (``../shared/peers/stylize_peer.py adain``: Huang & Belongie 2017's published nets,
a benchmark anchor only) and ``stylenet stylize --style`` stylise every photo with every artwork, as
``<photo>__<artwork>.png``, and ``stylenet evaluate --outputs`` scores the photos themselves, AdaIN and stylenet with
the shared normalised VGG19 (content at relu4_2; style: relative Gram error at relu1_1 ... relu5_1, the artwork at
the photos' size). It prints each with its ratios to AdaIN's and its style distance as a share of the photos' own,
and writes ``<out>/<size>/sheet.jpg``: photo | artwork | AdaIN | stylenet, one row per artwork.
A rerun into the same ``--out`` (or one that starts from a copy of an earlier ``<out>/<size>``) keeps AdaIN's
and the photos' pairs and scores, which do not depend on the net, and redoes stylenet's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bench.quality import (
    PEERS,
    ROOT,
    Scores,
    held_out_files,
    mean_scores,
    ratio_table,
    run,
    score,
    sharp_photos,
    sheet,
    write_photos,
)
from stylenet.imageio import open_image, resize_longest

RECIPE = "experiment=metanet_cpu"
HELD_OUT = 64  # photos held out from training: 18 of them have a longest side of 576 px (3/4 of 768) or more


def write_artworks(files: list[Path], folder: Path, size: int) -> list[Path]:
    """``files`` at a longest side of ``size`` as PNG in ``folder``: every net and the scorer read these pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file in files:
        written.append(folder / f"{file.stem}.png")
        resize_longest(open_image(file), size).save(written[-1])
    return written


def pair_folder(
    folder: Path, artworks: list[Path], stylise: Callable[[Path, Path], object], done: list[str] | None = None
) -> Path:
    """``folder`` with ``<photo>__<artwork>.png`` for every pair: ``stylise(artwork, into)`` writes one
    ``<photo>.png`` per photo into the folder ``into``. With the photos' stems ``done``, an artwork whose pairs
    are all there already is skipped (AdaIN's and the photos' own pairs do not depend on the net scored)."""
    for artwork in artworks:
        if done is not None and all((folder / f"{stem}__{artwork.stem}.png").exists() for stem in done):
            continue
        single = folder / f".{artwork.stem}"
        single.mkdir(parents=True, exist_ok=True)
        stylise(artwork, single)
        for output in single.glob("*.png"):
            output.replace(folder / f"{output.stem}__{artwork.stem}.png")
        single.rmdir()
    return folder


def score_size(
    checkpoint: Path, photos: list[Path], artworks: list[Path], size: int, folder: Path, working_size: str
) -> Scores:
    """Write the photos and artworks at ``size``, stylise every pair with AdaIN and stylenet (``stylenet stylize
    --working-size working_size``), and score the photos, AdaIN and stylenet (``photo``, ``adain``, ``stylenet``)."""
    photo_dir, art_dir = folder / "photos", folder / "artworks"
    write_photos(photos, photo_dir, size)
    arts = write_artworks(artworks, art_dir, size)

    def unmodified(_artwork: Path, into: Path) -> None:
        for photo in photo_dir.glob("*.png"):
            (into / photo.name).symlink_to(photo.resolve())

    def adain(artwork: Path, into: Path) -> None:
        run([sys.executable, str(PEERS / "stylize_peer.py"), "adain", str(photo_dir), str(into), "--style",
             str(artwork)], folder / "adain.log")  # fmt: skip

    def stylenet(artwork: Path, into: Path) -> None:
        run([sys.executable, "-m", "stylenet.cli", "stylize", str(photo_dir), "-m", str(checkpoint), "--style",
             str(artwork), "-o", str(into), "--working-size", working_size, "--overwrite", "--quiet"],
            folder / "stylize.log")  # fmt: skip

    stems = sorted(p.stem for p in photo_dir.glob("*.png"))
    anchors = {"photo": unmodified, "adain": adain}
    outputs = {name: pair_folder(folder / name, arts, stylise, stems) for name, stylise in anchors.items()}
    outputs["stylenet"] = pair_folder(folder / "stylenet", arts, stylenet)
    scores = {}
    for name, out in outputs.items():
        csv = folder / f"eval_{name}" / "evaluation.csv"
        kept = name in anchors and csv.exists() and all(p.lstat().st_mtime < csv.stat().st_mtime for p in out.iterdir())
        scores[name] = mean_scores(csv) if kept else score(out, photo_dir, art_dir, size, csv.parent)
    pairs = [(stems[i % len(stems)], art) for i, art in enumerate(arts)]  # photo i with artwork i
    rows = [[photo_dir / f"{s}.png", art, *(outputs[net] / f"{s}__{art.stem}.png" for net in ("adain", "stylenet"))]
            for s, art in pairs]  # fmt: skip
    sheet(rows, ["photo", "artwork", "AdaIN", "stylenet"], folder / "sheet.jpg", tile=256)
    return scores


def style_share(scores: Scores, images: str) -> float:
    """The style distance of ``images`` as a share of the unmodified photos' (the issue's goal: at most 0.6)."""
    return scores[images]["style_distance"] / scores["photo"]["style_distance"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "outputs/metanet_quality")
    parser.add_argument("--sizes", type=int, nargs="+", default=[384, 768], help="longest sides of the photos")
    parser.add_argument("--checkpoint", type=Path, help="score this meta network instead of training one")
    parser.add_argument(
        "--working-size", default="trained", help="stylenet stylize's size policy: trained (its default), native, N"
    )
    parser.add_argument("overrides", nargs="*", help=f"train.py overrides after -- (on top of {RECIPE})")
    args = parser.parse_args()
    overrides = [RECIPE, f"data.content.val_size={HELD_OUT}", *args.overrides]
    photos = sharp_photos(held_out_files(overrides, "content"), max(args.sizes))  # the same photos at every size
    artworks = held_out_files(overrides, "style")
    checkpoint = args.checkpoint
    if checkpoint is None:
        train = args.out / "train"
        run([sys.executable, "train.py", *overrides, "ckpt_path=last", f"hydra.run.dir={train}"], train / "run.log")
        checkpoint = train / "checkpoints/last.ckpt"
    results = {
        size: score_size(checkpoint, photos, artworks, size, args.out / str(size), args.working_size)
        for size in args.sizes
    }
    print(f"{checkpoint}: {len(artworks)} held-out artworks x the held-out photos; sheets {args.out}/<size>/sheet.jpg")
    print(
        "\n"
        + ratio_table({f"{size} px": scores for size, scores in results.items()}, "adain", {"style/photo": style_share})
    )


if __name__ == "__main__":
    main()
