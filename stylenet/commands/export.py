"""``stylenet export``: write a trained network as TorchScript, ONNX and a JSON sidecar.

    stylenet export run/checkpoints/last.ckpt -o exported/starry
    stylenet export metanet.ckpt --style starry.jpg [more.jpg --style-blend 0.7 0.3] -o exported/starry

A meta-network checkpoint exports the transform net it generates for style images. Writes
``<output>.pt`` (TorchScript), ``<output>.onnx`` (dynamic batch, height and width) and ``<output>.json``
(training config, style image name and hash, input range, versions). Both exports are checked against
the eager network on a real image before the command reports success.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stylenet.config import shared_dir
from stylenet.exporters import export_all
from stylenet.imageio import ImageReadError, load_image
from stylenet.inference import image_network
from stylenet.runtimes import DEFAULT_TOLERANCE, ExportMismatchError

HELP = "export a checkpoint to TorchScript and ONNX with a JSON sidecar, checked against eager"


def run(args: argparse.Namespace) -> int:
    try:
        net, metadata, _ = image_network(args.checkpoint, args.style or (), args.style_blend)
        image = load_image(args.check_image, args.check_size)[None]
        result = export_all(net, args.output or args.checkpoint.with_suffix(""), image, metadata, args.tolerance)
    except (OSError, ValueError, ImageReadError, ExportMismatchError) as error:
        print(f"export failed: {error}", file=sys.stderr)
        return 1
    for name, difference in result.differences.items():
        size = "x".join(map(str, image.shape[-2:]))
        print(f"{name}: max abs difference from eager {difference:.3g} on {args.check_image.name} ({size})")
    print(f"wrote {result.torchscript}, {result.onnx}, {result.sidecar}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="checkpoint written by training")
    parser.add_argument("--style", type=Path, nargs="+", help="style image(s), for a meta-network checkpoint")
    parser.add_argument(
        "--style-blend", type=float, nargs="+", help="blend weights of several --style images (default: equal)"
    )
    parser.add_argument("-o", "--output", type=Path, help="output path without suffix (default: beside the checkpoint)")
    parser.add_argument(
        "--check-image",
        type=Path,
        default=shared_dir() / "images/content/neural_style/tubingen.jpg",
        help="real image the exports are checked on",
    )
    parser.add_argument(
        "--check-size", type=int, default=517, help="longest side of the check image (odd sizes test padding)"
    )
    parser.add_argument(
        "--tolerance", type=float, default=DEFAULT_TOLERANCE, help="max abs difference allowed from eager"
    )
    parser.set_defaults(func=run)
