"""``stylenet upscale``: upscale image files with a trained super-resolution checkpoint.

    stylenet upscale photo.jpg -m sr_x4.ckpt -o upscaled/
    stylenet upscale photos/ 'more/*.png' -m sr_x4.ckpt -o upscaled/ --backend onnxruntime
    stylenet upscale huge.tif -m sr_x4.ckpt -o upscaled/ --tile 128

Inputs are files, folders (their images, not recursive) or glob patterns, of any size: inputs larger than
``--tile`` pixels are upscaled in overlapping tiles. Each output has the input's name and format, ``factor``
times its size; alpha is upscaled bicubically beside it and 16-bit inputs stay 16-bit where the format holds
them. Unreadable inputs are reported and skipped (exit status 1); existing outputs are kept unless
``--overwrite``, and every output is written under a temporary name and then renamed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from stylenet.bicubic import bicubic_upsample
from stylenet.commands.stylize import collect_inputs, positive_int
from stylenet.imageio import ImageReadError, read_picture
from stylenet.inference import BACKENDS
from stylenet.output_files import Summary, output_targets
from stylenet.runtimes import PRECISIONS
from stylenet.upscaling import DEFAULT_TILE, OVERLAP, Upscaler, load_upscaler, upscale

HELP = "upscale images with a super-resolution checkpoint"


def upscale_files(
    upscaler: Upscaler, inputs: list[Path], output_dir: Path, tile: int, overwrite: bool = False, progress: bool = True
) -> Summary:
    """Upscale every input into ``output_dir`` (see the module docstring)."""
    pairs, clashes = output_targets(inputs, output_dir)
    summary = Summary(failed=clashes)
    for source, target in tqdm(pairs, desc="upscale", unit="image", disable=not progress):
        if target.exists() and not overwrite:
            summary.skipped.append(source)
            continue
        try:
            picture = read_picture(source)
        except (ImageReadError, FileNotFoundError) as error:
            summary.failed[source] = str(error)
            continue
        rgb = upscale(upscaler, picture.rgb[None], tile, OVERLAP)[0].clamp(0, 1)
        alpha = None
        if picture.alpha is not None:
            alpha = bicubic_upsample(picture.alpha[None], upscaler.factor)[0].clamp(0, 1)
        summary.save(source, target, replace(picture, rgb=rgb, alpha=alpha))
    return summary


def run(args: argparse.Namespace) -> int:
    inputs = collect_inputs(args.inputs)
    if not inputs:
        raise SystemExit(f"stylenet upscale: error: no images found in {' '.join(args.inputs)}")
    try:
        upscaler = load_upscaler(args.model, args.device, args.backend, args.precision, args.cache_dir)
    except (OSError, ValueError) as error:
        raise SystemExit(f"stylenet upscale: error: {error}") from error
    if not args.quiet:
        model = upscaler.model
        print(
            f"{args.model}: x{upscaler.factor}, {model.backend}, {model.precision} on {model.device}", file=sys.stderr
        )
    summary = upscale_files(upscaler, inputs, Path(args.output), args.tile, args.overwrite, not args.quiet)
    print(summary.report("upscaled"), file=sys.stderr if summary.failed else sys.stdout)
    return 1 if summary.failed else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help="image files, folders or glob patterns")
    parser.add_argument("-m", "--model", required=True, help="super-resolution checkpoint")
    parser.add_argument("-o", "--output", required=True, help="output folder")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help="as stylenet stylize's")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="as stylenet stylize's")
    parser.add_argument("--cache-dir", type=Path, help="where checkpoints' ONNX exports are cached")
    parser.add_argument(
        "--tile", type=positive_int, default=DEFAULT_TILE, help="inputs larger than N pixels run in tiles"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
