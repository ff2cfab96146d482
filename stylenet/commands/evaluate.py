"""``stylenet evaluate``: score a model, or a folder of stylised images, over fixed content x style pairs.

    stylenet evaluate -m starry.ckpt -o eval/starry                  # 4 default photos x the model's style
    stylenet evaluate -m metanet.ckpt -o eval/metanet --styles styles/ --content photos.txt
    stylenet evaluate --outputs stylized/ --styles starry_night.jpg -o eval/folder
    stylenet evaluate -m starry.ckpt -o eval/starry --clip pan zoom rotate object clip.mp4   # + warping error

Pairs are every ``--content`` image with every ``--styles`` image. Both take files, folders, glob
patterns or ``.txt`` lists (one path a line). Defaults, under ``$STYLENET_SHARED`` (else ../shared):
content = images/content/neural_style/{tubingen,golden_gate}.jpg and images/content/kodak24/{kodim23,kodim05}.jpg;
styles = the style the model was trained on (from its checkpoint or export sidecar), else
images/style/fast_neural_style/{starry_night,candy}.jpg.

A folder of outputs holds ``<content stem>__<style stem>.<ext>`` per pair, or, with a single style,
``<content stem>.<ext>`` (what ``stylenet stylize`` writes).

Writes ``<output>/evaluation.csv`` (one row per pair) and ``<output>/contact_sheet.png`` (content |
style | output rows) and prints the mean of each metric. A metric whose weights file is missing is
reported as skipped. ``--scorer vgg19`` computes the content and style distances with the shared normalised
VGG19 instead of VGG16 (a network other than the one the training losses use; LPIPS is then skipped).

``--clip`` adds the temporal consistency of a model (:mod:`stylenet.clip_evaluation`): its warping error
(Lai et al. 2018) on each clip, next to the unmodified clip's own, written to ``<output>/warping_error.csv``.
A clip is a video file or a synthetic clip of a real photo under known motion (pan, zoom, rotate, object),
``--clip-size`` wide, :data:`~stylenet.clip_evaluation.CLIP_FRAMES` frames; a meta network uses the first style.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stylenet.clip_evaluation import clip_frames, clip_table, clip_warping_error
from stylenet.commands.stylize import collect_inputs, positive_int
from stylenet.config import shared_dir
from stylenet.evaluation import (
    DEFAULT_CONTENT,
    DEFAULT_STYLES,
    Scorer,
    evaluate,
    evaluation_sheet,
    folder_source,
    make_pairs,
    model_source,
    summary_table,
    write_csv,
    write_table,
)
from stylenet.imageio import ImageReadError, load_image
from stylenet.inference import BACKENDS

SCORER_WEIGHTS = {"vgg16": "vgg16_imagenet_features.pth", "vgg19": "vgg19_normalised_features_fp16.pth"}
HELP = "score a model or a folder of stylised images: content, LPIPS, style and edge metrics"


def expand_lists(sources: list[str]) -> list[Path]:
    """Image paths from ``sources``: ``.txt`` files list one path a line (blank lines and ``#`` comments
    skipped, relative paths taken from the list's folder); anything else goes to :func:`collect_inputs`."""
    expanded: list[str] = []
    for source in sources:
        if source.lower().endswith(".txt"):
            listing = Path(source)
            if not listing.is_file():
                raise FileNotFoundError(f"image list not found: {listing}")
            lines = (line.strip() for line in listing.read_text().splitlines())
            expanded += [str(listing.parent / line) for line in lines if line and not line.startswith("#")]
        else:
            expanded.append(source)
    files = collect_inputs(expanded)
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"image not found: {', '.join(missing)}")
    if not files:
        raise FileNotFoundError(f"no images found in {' '.join(sources)}")
    return files


def choose_styles(explicit: list[Path] | None, trained: Path | None, images: Path) -> list[Path]:
    """The ``--styles`` images, else the style the model was trained on, else the default styles."""
    if explicit is not None:
        return explicit
    if trained is None:
        return [images / path for path in DEFAULT_STYLES]
    if not trained.is_file():
        raise FileNotFoundError(f"the style image the model was trained on is not here: {trained}; pass --styles")
    return [trained]


def run(args: argparse.Namespace) -> int:
    try:
        return evaluate_command(args)
    except (OSError, ValueError, KeyError, ImageReadError) as error:
        message = error.args[0] if isinstance(error, KeyError) else error
        raise SystemExit(f"stylenet evaluate: error: {message}") from error


def evaluate_command(args: argparse.Namespace) -> int:
    images = shared_dir() / "images"
    contents = expand_lists(args.content) if args.content else [images / p for p in DEFAULT_CONTENT]
    explicit = expand_lists(args.styles) if args.styles else None
    if args.outputs is not None:
        if args.clip:
            raise ValueError("--clip scores a model (-m): a folder of stylised images has no clips")
        styles = choose_styles(explicit, None, images)
        source = folder_source(args.outputs, single_style=len(styles) == 1)
    else:
        source = model_source(args.model, args.device, args.backend, args.cache_dir, args.metanet_vgg_weights)
        styles = choose_styles(explicit, source.style, images)
    missing = [str(path) for path in (*contents, *styles) if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"image not found: {', '.join(missing)}")

    weights = shared_dir() / "weights"
    scorer = Scorer.from_files(
        args.vgg_weights or weights / SCORER_WEIGHTS[args.scorer],
        args.lpips_weights or weights / "lpips_vgg_lin.pth",
        args.content_tap,
        args.device,
        args.scorer,
    )
    results = evaluate(source, make_pairs(contents, styles), scorer, args.size, args.style_size)
    output = Path(args.output)
    table = write_csv(results, output / "evaluation.csv")
    sheet = output / "contact_sheet.png"
    evaluation_sheet(results).save(sheet)
    print(f"{source.name}\n{summary_table(results, scorer)}\nwrote {table} and {sheet}")
    if args.clip:
        style_image = load_image(styles[0], args.style_size)[None]
        clips = [
            clip_warping_error(source, clip, clip_frames(clip, images, args.clip_size), styles[0], style_image)
            for clip in args.clip
        ]
        rows = ([r.clip, f"{r.model:.6g}", f"{r.unmodified:.6g}"] for r in clips)
        written = write_table(output / "warping_error.csv", ["clip", "warping_error", "unmodified"], rows)
        print(f"{clip_table(clips)}\nwrote {written}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("-m", "--model", help="checkpoint, TorchScript (.pt/.ts), .onnx or meta-network checkpoint")
    what.add_argument("--outputs", help="folder of already stylised images (see above for their names)")
    parser.add_argument("-o", "--output", required=True, help="folder for evaluation.csv and contact_sheet.png")
    parser.add_argument("--content", nargs="+", help="content images: files, folders, globs or .txt lists")
    parser.add_argument("--styles", nargs="+", help="style images: files, folders, globs or .txt lists")
    parser.add_argument("--size", type=positive_int, default=256, help="longest side of the content images")
    parser.add_argument("--style-size", type=positive_int, default=256, help="longest side of the style images")
    parser.add_argument("--content-tap", default="relu2_2", help="VGG tap of the content distance")
    parser.add_argument(
        "--scorer", choices=sorted(SCORER_WEIGHTS), default="vgg16", help="the VGG of the distances (LPIPS: VGG16)"
    )
    parser.add_argument(
        "--clip", nargs="+", help="with -m: warping error on video files or synthetic clips (pan zoom rotate object)"
    )
    parser.add_argument("--clip-size", type=positive_int, default=256, help="longest side of the clips' frames")
    parser.add_argument("--vgg-weights", type=Path, help="the scorer's VGG features (default: <shared>/weights/...)")
    parser.add_argument("--lpips-weights", type=Path, help="LPIPS VGG heads (default: <shared>/weights/...)")
    parser.add_argument("--metanet-vgg-weights", help="VGG weights of a meta network's style embedding")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help="backend of a checkpoint (see stylize)")
    parser.add_argument("--cache-dir", type=Path, help="where checkpoints' ONNX exports are cached")
    parser.set_defaults(func=run)
