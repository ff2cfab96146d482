"""``stylenet stylize``: stylise image and video files with a trained model (checkpoint, TorchScript or ONNX).

    stylenet stylize photos/ -m starry.ckpt -o stylized/
    stylenet stylize 'photos/*.jpg' -m starry.onnx -o stylized/ --size 1024 --strength 0.8 --preserve-color
    stylenet stylize big.tif -m starry.ckpt -o stylized/ --tile 1024 --overlap 64
    stylenet stylize photos/ -m metanet.ckpt --style a.jpg b.jpg --style-blend 0.7 0.3 -o blended/
    stylenet stylize photos/ -m starry.ckpt -o stylized/ --devices 4 --accelerator cpu
    stylenet stylize clip.mp4 -m starry.ckpt -o stylized/ --size 640
    stylenet stylize photos/ -m metanet.ckpt --style a.jpg -o stylized/ --working-size native

Inputs are files, folders (their images, not recursive) or glob patterns. Each output has the input's
name, format and size (or longest side ``--size``). It keeps the input's alpha channel where its format
holds one (PNG, WebP, TIFF; elsewhere it is composited on white, with a notice) and 16 bits per sample
for 16-bit PNG and TIFF inputs (a format of 8 bits says it reduced them). An unreadable input is reported
and skipped; the command ends with a summary and exits with status 1 if any input failed. Existing
outputs are kept unless ``--overwrite``, and every output is written under a temporary name and then
renamed, so a stopped run is resumed by running it again.

An image whose untiled run would need more than ``--memory-budget`` GB (default: half the available
memory; :mod:`stylenet.memory` estimates it from the image size) is tiled, with a notice; that needs a
checkpoint. ``--devices N`` runs the checkpoint's eager network in N processes through Lightning
(:mod:`stylenet.batch_stylize`; DDP over gloo with ``--accelerator cpu``), which share the budget.

Videos (``.mp4 .mov .mkv .webm .avi``) are decoded, stylised in batches (``--batch-size``, default 4) and
encoded with the same timestamps, size (or ``--size``; odd sides cropped to even) and audio streams
(:mod:`stylenet.video_stylize`), under a temporary name renamed when complete.

``--working-size`` is the size policy (:class:`~stylenet.inference.StyleOptions`): a network paints textures of
a fixed size in pixels, so an input whose shorter side is larger than the working size is stylised at it and
upscaled back. By default (``trained``) that is the size a meta network's checkpoint records it was trained at,
so its texture keeps the scale it has to the image in training at every input size; other models, and
``native``, run every input at its own size.
"""

from __future__ import annotations

import argparse
import glob
import sys
from dataclasses import replace
from pathlib import Path

import torch
from tqdm import tqdm

from stylenet.imageio import IMAGE_SUFFIXES, ImageReadError, Picture, read_picture
from stylenet.inference import (
    BACKENDS,
    MODEL_FILE_BACKENDS,
    STYLE_KINDS,
    Model,
    StyleOptions,
    image_network,
    load_model,
    stylize,
    trained_size,
)
from stylenet.memory import GB, default_budget, plan_tiling, untiled_bytes
from stylenet.output_files import Summary, notify, output_targets
from stylenet.runtimes import PRECISIONS
from stylenet.video_io import VIDEO_SUFFIXES
from stylenet.video_stylize import VIDEO_BATCH_SIZE, stylize_videos

HELP = "stylise images and videos with a trained model (checkpoint, TorchScript or ONNX)"


def collect_inputs(sources: list[str], suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[Path]:
    """Files named by ``sources``: files, folders (their files with one of ``suffixes``, sorted) or glob patterns."""
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        elif path.exists() or not glob.has_magic(source):
            files.append(path)  # a missing file is reported when it is read
        else:
            files += sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())
    return list(dict.fromkeys(files))


def stylize_files(
    model: Model,
    inputs: list[Path],
    output_dir: Path,
    options: StyleOptions,
    size: int | None = None,
    batch_size: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    budget: float | None = None,
) -> Summary:
    """Stylise every input into ``output_dir``; consecutive images of one size run in batches of ``batch_size``
    that fit in the memory ``budget`` (bytes, default half the available memory), and an image that alone would
    not is tiled."""
    budget = budget or default_budget(model.device)
    pairs, clashes = output_targets(inputs, output_dir)
    summary = Summary(failed=clashes)
    batch: list[tuple[Path, Path, Picture]] = []

    def flush() -> None:
        if not batch:
            return
        images = torch.stack([picture.rgb for _, _, picture in batch])
        try:
            planned, notice = plan_tiling(options, images.shape, model, budget, str(batch[0][0]))
        except ValueError as error:
            summary.failed |= {source: str(error) for source, _, _ in batch}
            batch.clear()
            return
        if notice:
            notify(notice)
        for (source, target, picture), image in zip(batch, stylize(model, images, planned), strict=True):
            summary.save(source, target, replace(picture, rgb=image))
        batch.clear()

    for source, target in tqdm(pairs, desc="stylize", unit="image", disable=not progress):
        if target.exists() and not overwrite:
            summary.skipped.append(source)
            continue
        try:
            picture = read_picture(source, size)
        except (ImageReadError, FileNotFoundError) as error:
            summary.failed[source] = str(error)
            continue
        shape = (len(batch) + 1, *picture.rgb.shape)
        if batch and (batch[0][2].rgb.shape != picture.rgb.shape or untiled_bytes(shape, model) > budget):
            flush()
        batch.append((source, target, picture))
        if len(batch) == batch_size:
            flush()
    flush()
    return summary


def stylize_here(args: argparse.Namespace, inputs: list[Path], options: StyleOptions, budget: float | None) -> Summary:
    """The single-process path: the model on ``--device`` with ``--backend``."""
    try:
        model = load_model(
            args.model, args.device, args.backend, args.cache_dir, args.style, args.style_blend, args.precision
        )
    except (OSError, ValueError) as error:
        raise SystemExit(f"stylenet stylize: error: {error}") from error
    options = replace(options, working_size=working_size(args.working_size, model.trained_size))
    if not args.quiet:
        at = f", at a shorter side of {options.working_size} px" if options.working_size else ""
        print(f"{args.model}: {model.backend}, {model.precision} on {model.device}{at}", file=sys.stderr)
    if args.tile and model.net is None:
        raise SystemExit(f"stylenet stylize: error: --tile needs a checkpoint, not a {model.backend} model")
    output, progress = Path(args.output), not args.quiet
    videos = [path for path in inputs if path.suffix.lower() in VIDEO_SUFFIXES]
    images = [path for path in inputs if path not in videos]
    try:
        summary = Summary()
        if images:
            summary = stylize_files(
                model, images, output, options, args.size, args.batch_size or 1, args.overwrite, progress, budget
            )
    except ValueError as error:
        raise SystemExit(f"stylenet stylize: error: {error}") from error
    batch_size = args.batch_size or VIDEO_BATCH_SIZE
    return Summary.merged(
        [summary, stylize_videos(model, videos, output, options, args.size, batch_size, args.overwrite, progress)]
    )


def stylize_on_devices(
    args: argparse.Namespace, inputs: list[Path], options: StyleOptions, budget: float | None
) -> Summary | None:
    """``--devices N``: the checkpoint's eager network through Lightning (:mod:`stylenet.batch_stylize`); the
    summary on rank 0, None on the other processes."""
    from stylenet.batch_stylize import stylize_distributed  # Lightning is imported only for --devices

    if Path(args.model).suffix.lower() in MODEL_FILE_BACKENDS or args.backend not in ("auto", "eager"):
        raise SystemExit("stylenet stylize: error: --devices runs a checkpoint's eager network, not another backend")
    if any(path.suffix.lower() in VIDEO_SUFFIXES for path in inputs):
        raise SystemExit("stylenet stylize: error: --devices stylises images; run videos without it")
    if args.precision == "bf16" or (args.batch_size or 1) > 1:
        raise SystemExit("stylenet stylize: error: --devices runs fp32, one image at a time per process")
    try:
        net, metadata, _ = image_network(args.model, args.style, args.style_blend, STYLE_KINDS)
    except (OSError, ValueError) as error:
        raise SystemExit(f"stylenet stylize: error: {error}") from error
    options = replace(options, working_size=working_size(args.working_size, trained_size(metadata)))
    pairs, clashes = output_targets(inputs, Path(args.output))
    summary = stylize_distributed(
        net, pairs, options, args.size, args.overwrite, args.devices, args.accelerator, budget, not args.quiet
    )
    if summary is not None:
        summary.failed |= clashes
    return summary


def run(args: argparse.Namespace) -> int:
    inputs = collect_inputs(args.inputs, IMAGE_SUFFIXES + VIDEO_SUFFIXES)
    if not inputs:
        raise SystemExit(f"stylenet stylize: error: no images or videos found in {' '.join(args.inputs)}")
    options = StyleOptions(args.strength, args.preserve_color, args.tile, args.overlap, args.stats_size)
    budget = args.memory_budget * GB if args.memory_budget else None
    if args.devices:
        summary = stylize_on_devices(args, inputs, options, budget)
        if summary is None:  # another process of the run: rank 0 reports
            return 0
    else:
        summary = stylize_here(args, inputs, options, budget)
    if len(inputs) == 1 and summary.failed:
        raise SystemExit(f"stylenet stylize: error: {next(iter(summary.failed.values()))}")
    print(summary.report(), file=sys.stderr if summary.failed else sys.stdout)
    return 1 if summary.failed else 0


def working_size(choice: int | str, trained: int | None) -> int | None:
    """``--working-size``: a number of pixels, ``trained`` (the model's ``trained``, None if it records none) or
    ``native`` (None)."""
    return trained if choice == "trained" else None if choice == "native" else int(choice)


def working_size_choice(text: str) -> int | str:
    if text in ("trained", "native"):
        return text
    try:
        return positive_int(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"{text!r} is not trained, native or a positive number of pixels") from None


def unit_interval(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in [0, 1]")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help="image or video files, folders or glob patterns")
    parser.add_argument("-m", "--model", required=True, help="Lightning checkpoint, TorchScript (.pt/.ts) or .onnx")
    parser.add_argument("-o", "--output", required=True, help="output folder")
    parser.add_argument("--style", nargs="+", default=(), help="style image(s) for a meta-network checkpoint")
    parser.add_argument(
        "--style-blend", type=float, nargs="+", help="blend weights of several --style images (default: equal)"
    )
    parser.add_argument("--size", type=positive_int, help="longest side of the outputs (default: the input's)")
    parser.add_argument(
        "--working-size",
        type=working_size_choice,
        default="trained",
        help="shorter side the network runs at (larger inputs are upscaled back): N pixels, native, or trained "
        "(default: a meta network's training size; other models native)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        help=f"images of one size run together (default 1), or video frames (default {VIDEO_BATCH_SIZE})",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="for checkpoints: auto = eager on CUDA; on a CPU openvino for bf16, else onnxruntime",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto = bf16 where the CPU computes it natively (outputs ~0.005 from fp32 on average), else fp32",
    )
    parser.add_argument("--cache-dir", type=Path, help="where checkpoints' ONNX exports are cached")
    parser.add_argument("--strength", type=unit_interval, default=1.0, help="0 = content, 1 = fully stylised")
    parser.add_argument("--preserve-color", action="store_true", help="keep the content's colours (YCbCr chroma)")
    parser.add_argument("--tile", type=positive_int, help="stylise in tiles of N x N pixels (checkpoints only)")
    parser.add_argument("--overlap", type=int, default=64, help="overlap of neighbouring tiles in pixels")
    parser.add_argument(
        "--stats-size", type=positive_int, default=1024, help="longest side of the instance-norm statistics pass"
    )
    parser.add_argument(
        "--memory-budget",
        type=positive_float,
        help="GB an image may add to memory; larger ones are tiled (default: half the available memory)",
    )
    parser.add_argument(
        "--devices",
        type=positive_int,
        help="run the checkpoint's eager network in N processes through Lightning (DDP; over gloo on CPUs)",
    )
    parser.add_argument("--accelerator", default="auto", help="with --devices: cpu, gpu, auto, ... (Lightning's)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
