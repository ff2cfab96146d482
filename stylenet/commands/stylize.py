"""``stylenet stylize``: stylise image files with a trained model (checkpoint, TorchScript or ONNX).

    stylenet stylize photos/ -m starry.ckpt -o stylized/
    stylenet stylize 'photos/*.jpg' -m starry.onnx -o stylized/ --size 1024 --strength 0.8 --preserve-color
    stylenet stylize big.tif -m starry.ckpt -o stylized/ --tile 1024 --overlap 64
    stylenet stylize photos/ -m metanet.ckpt --style a.jpg b.jpg --style-blend 0.7 0.3 -o blended/

Inputs are files, folders (their images, not recursive) or glob patterns. Each output has the input's
name and size (or longest side ``--size``). An unreadable input is reported and skipped; the command
ends with a summary and exits with status 1 if any input failed. Existing outputs are kept unless
``--overwrite``.
"""

from __future__ import annotations

import argparse
import glob
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from stylenet.imageio import IMAGE_SUFFIXES, ImageReadError, load_image, save_image
from stylenet.inference import BACKENDS, Model, StyleOptions, load_model, stylize
from stylenet.runtimes import PRECISIONS

HELP = "stylise images with a trained model (checkpoint, TorchScript or ONNX)"


def collect_inputs(sources: list[str]) -> list[Path]:
    """Image files named by ``sources``: files, folders (their image files, sorted) or glob patterns."""
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists() or not glob.has_magic(source):
            files.append(path)  # a missing file is reported when it is read
        else:
            files += sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())
    return list(dict.fromkeys(files))


@dataclass
class Summary:
    """What happened to each input."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)

    def report(self) -> str:
        lines = [f"stylised {len(self.written)}, skipped {len(self.skipped)}, failed {len(self.failed)}"]
        if self.skipped:
            lines.append("skipped (output exists; --overwrite replaces it): " + ", ".join(map(str, self.skipped)))
        lines += [f"failed: {message}" for message in self.failed.values()]
        return "\n".join(lines)


def stylize_files(
    model: Model,
    inputs: list[Path],
    output_dir: Path,
    options: StyleOptions,
    size: int | None = None,
    batch_size: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> Summary:
    """Stylise every input into ``output_dir``; consecutive images of one size run in batches of ``batch_size``."""
    summary = Summary()
    batch: list[tuple[Path, Path, torch.Tensor]] = []

    def flush() -> None:
        if not batch:
            return
        stylized = stylize(model, torch.stack([image for _, _, image in batch]), options)
        for (source, target, _), image in zip(batch, stylized, strict=True):
            try:
                summary.written.append(save_image(image, target))
            except (OSError, ValueError) as error:
                summary.failed[source] = f"{source}: cannot write {target} ({error})"
        batch.clear()

    claimed: dict[Path, Path] = {}
    for source in tqdm(inputs, desc="stylize", unit="image", disable=not progress):
        target = output_dir / source.name
        if target in claimed:
            summary.failed[source] = f"{source}: output name {target} is already taken by {claimed[target]}"
            continue
        claimed[target] = source
        if target.exists() and not overwrite:
            summary.skipped.append(source)
            continue
        try:
            image = load_image(source, size)
        except (ImageReadError, FileNotFoundError) as error:
            summary.failed[source] = str(error)
            continue
        if batch and batch[0][2].shape != image.shape:
            flush()
        batch.append((source, target, image))
        if len(batch) == batch_size:
            flush()
    flush()
    return summary


def run(args: argparse.Namespace) -> int:
    inputs = collect_inputs(args.inputs)
    if not inputs:
        raise SystemExit(f"stylenet stylize: error: no images found in {' '.join(args.inputs)}")
    try:
        model = load_model(
            args.model, args.device, args.backend, args.cache_dir, args.style, args.style_blend, args.precision
        )
    except (OSError, ValueError) as error:
        raise SystemExit(f"stylenet stylize: error: {error}") from error
    if not args.quiet:
        print(f"{args.model}: {model.backend}, {model.precision} on {model.device}", file=sys.stderr)
    if args.tile and model.net is None:
        raise SystemExit(f"stylenet stylize: error: --tile needs a checkpoint, not a {model.backend} model")
    options = StyleOptions(args.strength, args.preserve_color, args.tile, args.overlap, args.stats_size)
    try:
        summary = stylize_files(
            model, inputs, Path(args.output), options, args.size, args.batch_size, args.overwrite, not args.quiet
        )
    except ValueError as error:
        raise SystemExit(f"stylenet stylize: error: {error}") from error
    print(summary.report(), file=sys.stderr if summary.failed else sys.stdout)
    return 1 if summary.failed else 0


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help="image files, folders or glob patterns")
    parser.add_argument("-m", "--model", required=True, help="Lightning checkpoint, TorchScript (.pt/.ts) or .onnx")
    parser.add_argument("-o", "--output", required=True, help="output folder")
    parser.add_argument("--style", nargs="+", default=(), help="style image(s) for a meta-network checkpoint")
    parser.add_argument(
        "--style-blend", type=float, nargs="+", help="blend weights of several --style images (default: equal)"
    )
    parser.add_argument("--size", type=positive_int, help="longest side of the outputs (default: the input's)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--batch-size", type=positive_int, default=1, help="images of one size run together")
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
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
