"""``stylenet export``: write a trained network as TorchScript, ONNX and a JSON sidecar.

    stylenet export run/checkpoints/last.ckpt -o exported/starry
    stylenet export metanet.ckpt --style starry.jpg [more.jpg --style-blend 0.7 0.3] -o exported/starry
    stylenet export run/checkpoints/last.ckpt --weights-only -o pretrained/starry     # pretrained/starry.ckpt
    stylenet export run/checkpoints/last.ckpt --web page/starry --web-runtime node_modules/onnxruntime-web
    stylenet export metanet.ckpt --web page/any_style        # a page that takes any style image

A meta-network checkpoint exports the transform net it generates for style images. Writes
``<output>.pt`` (TorchScript), ``<output>.onnx`` (dynamic batch, height and width) and ``<output>.json``
(training config, style image name and hash, input range, versions). Both exports are checked against
the eager network on a real image before the command reports success.

``--weights-only`` writes instead ``<output>.ckpt`` (default: ``<checkpoint>_fp16.ckpt``): the network's weights
in fp16 with the checkpoint's description and nothing for resuming, a checkpoint to ship that every command
reads; it is checked against the original on the check image too.

``--web DIR`` writes instead a static web page that stylises photos in the browser (:mod:`stylenet.web_export`):
a meta-network checkpoint without ``--style`` gives a page that takes any style image. ``--web-runtime`` copies
a local onnxruntime-web package into the page, which then works offline; without it the page loads the
runtime from a CDN. Serve the folder with any static server, or ``stylenet serve DIR`` for threaded WASM.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from stylenet.checkpoint import load as load_checkpoint
from stylenet.checkpoint import save_weights_only
from stylenet.config import shared_dir
from stylenet.exporters import export_all, network_scale
from stylenet.imageio import ImageReadError, load_image
from stylenet.inference import STYLE_KINDS, arbitrary_style_net, image_network, loaded_image_network
from stylenet.runtimes import DEFAULT_TOLERANCE, ExportMismatchError
from stylenet.web_export import DEFAULT_MAX_SIZE, ORT_WEB_VERSION, export_page

HELP = "export a checkpoint to TorchScript and ONNX with a JSON sidecar, checked against eager"


def check_image(args: argparse.Namespace, net: torch.nn.Module) -> torch.Tensor:
    """The real ``(1, 3, H, W)`` check input, sized so that ``net``'s output has ``--check-size`` pixels."""
    return load_image(args.check_image, max(16, args.check_size // network_scale(net)))[None]


WEIGHTS_ONLY_TOLERANCE = 0.02  # fp16 weights move outputs in [0, 1] by about 1e-3 on average


def export_weights_only(args: argparse.Namespace) -> int:
    target = (args.output or args.checkpoint.with_name(f"{args.checkpoint.stem}_fp16")).with_suffix(".ckpt")
    if target.resolve() == args.checkpoint.resolve():
        print(f"export failed: {target} is the checkpoint itself; choose another -o", file=sys.stderr)
        return 1
    try:
        loaded = load_checkpoint(args.checkpoint)
        original, _, _ = loaded_image_network(loaded, args.style or (), args.style_blend)
        image = check_image(args, original)
        target.parent.mkdir(parents=True, exist_ok=True)
        save_weights_only(loaded, target)
        shipped, _, _ = image_network(target, args.style or (), args.style_blend)  # read back as users will
        with torch.no_grad():
            difference = float((shipped(image) - original(image)).abs().max())
    except (OSError, ValueError, ImageReadError) as error:
        print(f"export failed: {error}", file=sys.stderr)
        return 1
    if difference > max(args.tolerance, WEIGHTS_ONLY_TOLERANCE):
        target.unlink()
        print(f"export failed: fp16 weights move the output by {difference:.3g} on {args.check_image}", file=sys.stderr)
        return 1
    print(f"wrote {target} ({target.stat().st_size / 1024:.0f} KiB); max abs difference {difference:.3g}")
    return 0


def export_web(args: argparse.Namespace) -> int:
    try:
        loaded = load_checkpoint(args.checkpoint)
        if loaded.kind == "metanet" and not args.style:
            net, metadata = arbitrary_style_net(loaded), loaded.metadata
        else:
            net, metadata, _ = loaded_image_network(loaded, args.style or (), args.style_blend, STYLE_KINDS)
        image = load_image(args.check_image, args.check_size)[None]
        page = export_page(net, args.web, image, metadata, args.web_runtime, args.max_size, args.tolerance)
    except (OSError, ValueError, ImageReadError, ExportMismatchError) as error:
        print(f"export failed: {error}", file=sys.stderr)
        return 1
    for name, difference in page.differences.items():
        print(f"{name}: max abs difference from eager {difference:.3g} in ONNX Runtime on {args.check_image.name}")
    where = "copied into the page" if args.web_runtime else f"loaded by the page from {page.runtime}"
    print(f"wrote the {page.kind.replace('_', '-')} page {page.folder}; onnxruntime-web {ORT_WEB_VERSION} {where}")
    print(f"serve it with any static server, or: stylenet serve {page.folder}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.weights_only and args.web:
        print("export failed: choose --weights-only or --web, not both", file=sys.stderr)
        return 1
    if args.weights_only:
        return export_weights_only(args)
    if args.web:
        return export_web(args)
    try:
        net, metadata, _ = image_network(args.checkpoint, args.style or (), args.style_blend)
        image = check_image(args, net)
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
        "--check-size",
        type=int,
        default=517,
        help="longest side of the check output (odd sizes test padding); the input is this over the net's scale",
    )
    parser.add_argument(
        "--tolerance", type=float, default=DEFAULT_TOLERANCE, help="max abs difference allowed from eager"
    )
    parser.add_argument(
        "--weights-only", action="store_true", help="write <output>.ckpt: fp16 weights and description, to ship"
    )
    parser.add_argument("--web", type=Path, metavar="DIR", help="write a static web page that stylises in the browser")
    parser.add_argument(
        "--web-runtime",
        type=Path,
        metavar="PACKAGE",
        help=f"local onnxruntime-web {ORT_WEB_VERSION} package folder to copy into the page (default: a CDN)",
    )
    parser.add_argument(
        "--max-size", type=int, default=DEFAULT_MAX_SIZE, help="with --web: longest photo side the page stylises"
    )
    parser.set_defaults(func=run)
