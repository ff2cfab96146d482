"""Export a trained stylizer: ``python export.py run/checkpoints/last.ckpt -o exported/starry``.

A meta-network checkpoint exports the transform net it generates for style images:
``python export.py metanet.ckpt --style starry.jpg [more.jpg --style-blend 0.7 0.3] -o exported/starry``.

Writes ``<output>.pt`` (TorchScript), ``<output>.onnx`` (dynamic batch, height and width) and
``<output>.json`` (training config, style image name and hash, input range, versions). Both exports are
checked against the eager network on a real image before the command reports success.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stylenet.checkpoint import load_transform_net
from stylenet.config import shared_dir
from stylenet.export import DEFAULT_TOLERANCE, ExportMismatchError, export_all
from stylenet.imageio import ImageReadError, load_image
from stylenet.metanet.inference import bake_styles

DEFAULT_CHECK_IMAGE = shared_dir() / "images/content/neural_style/tubingen.jpg"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, help="Lightning checkpoint written by training")
    parser.add_argument("--style", type=Path, nargs="+", help="style image(s), for a meta-network checkpoint")
    parser.add_argument(
        "--style-blend", type=float, nargs="+", help="blend weights of several --style images (default: equal)"
    )
    parser.add_argument("-o", "--output", type=Path, help="output path without suffix (default: beside the checkpoint)")
    parser.add_argument(
        "--check-image", type=Path, default=DEFAULT_CHECK_IMAGE, help="real image the exports are checked on"
    )
    parser.add_argument(
        "--check-size", type=int, default=517, help="longest side of the check image (odd sizes test padding)"
    )
    parser.add_argument(
        "--tolerance", type=float, default=DEFAULT_TOLERANCE, help="max abs difference allowed from eager"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.style:
            net, metadata = bake_styles(args.checkpoint, args.style, args.style_blend)
        else:
            net, metadata = load_transform_net(args.checkpoint)
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


if __name__ == "__main__":
    sys.exit(main())
