"""``stylenet optimize``: stylise one image (or synthesise a texture) by optimising its pixels.

The loss comes from the training config (``conf/``): the ``loss`` and ``backbone`` groups and the
``style`` preset's weights, with Hydra overrides on top::

    stylenet optimize content.jpg -o out.png --loss crosslayer --set style.style_weight=3e9
    stylenet optimize --texture --style starry_night.jpg -o texture.png --texture-size 256 256

Next to the output it writes ``<stem>_loss.csv`` (loss per iteration) and ``<stem>_loss.png``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import torch
from hydra.errors import HydraException
from hydra.utils import instantiate
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from stylenet.config import compose_config
from stylenet.imageio import load_image, save_image
from stylenet.losses import PerceptualLoss
from stylenet.pixel_optimization import (
    INITS,
    OPTIMIZERS,
    OptimizationResult,
    stylize_by_optimization,
    synthesize_texture,
)
from stylenet.plotting import plot_loss_history

HELP = "stylise an image (or synthesise a texture) by optimising its pixels (Gatys et al.)"


def build_loss(cfg: DictConfig, device: torch.device) -> PerceptualLoss:
    """The config's perceptual loss on its backbone, on ``device``."""
    return instantiate(cfg.loss, encoder=instantiate(cfg.backbone)).to(device)


def write_history(result: OptimizationResult, path: Path) -> Path:
    """One CSV row per iteration: iteration, seconds, content, style, tv, total, then every term."""
    columns = list(dict.fromkeys(key for row in result.history for key in ("iteration", "seconds", *row)))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(result.history)
    return path


def run(args: argparse.Namespace) -> int:
    try:
        return optimize(args)
    except (OSError, ValueError, HydraException, OmegaConfBaseException) as error:
        raise SystemExit(f"stylenet optimize: error: {error}") from error


def optimize(args: argparse.Namespace) -> int:
    if args.texture == (args.content is not None):
        raise ValueError("give a content image, or --texture without one")
    cfg = compose_config("train", [f"loss={args.loss}", f"backbone={args.backbone}", *args.set])
    device = torch.device(args.device)
    style_paths = args.style or [cfg.style.image]
    style_size = args.style_size if args.style_size is not None else cfg.style.size
    styles = [load_image(path, style_size).to(device) for path in style_paths]
    content = None if args.texture else load_image(args.content, args.size).to(device)
    if args.texture:
        cfg.loss.content = None
    loss = build_loss(cfg, device)

    output = Path(args.output)
    stem = output.with_suffix("")
    on_step = None
    if args.snapshot_every:

        def on_step(iteration: int, image: torch.Tensor) -> None:
            if iteration % args.snapshot_every == 0:
                save_image(image[0], f"{stem}_iter{iteration:05d}{output.suffix}")

    common = {
        "steps": args.steps,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "style_weights": args.style_blend,
        "seed": args.seed,
        "on_step": on_step,
        "progress": not args.quiet,
    }
    if content is None:
        result = synthesize_texture(loss, styles, tuple(args.texture_size), **common)
    else:
        result = stylize_by_optimization(loss, content, styles, init=args.init, **common)
    save_image(result.image[0], output)
    write_history(result, Path(f"{stem}_loss.csv"))
    plot_loss_history(result.history, f"{stem}_loss.png", title=f"{args.optimizer}, loss={args.loss}")
    final = result.history[-1]
    print(
        f"{output}: content {final['content']:.4g}  style {final['style']:.4g}  "
        f"tv {final['tv']:.4g}  total {final['total']:.4g}"
    )
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("content", nargs="?", help="content image (omit with --texture)")
    parser.add_argument("-o", "--output", required=True, help="output image path")
    parser.add_argument("--style", nargs="+", help="style image(s); default: the style preset's image")
    parser.add_argument("--style-blend", nargs="+", type=float, help="one weight per style image (default equal)")
    parser.add_argument("--texture", action="store_true", help="synthesise a texture from noise: style loss only")
    parser.add_argument("--texture-size", nargs=2, type=int, default=(256, 256), metavar=("H", "W"))
    parser.add_argument("--size", type=int, default=512, help="longest side of the content image (default 512)")
    parser.add_argument("--style-size", type=int, help="longest side of the style images (default: preset's)")
    parser.add_argument("--loss", default="gram", help="conf/loss config (gram, crosslayer, gram_crosslayer)")
    parser.add_argument("--backbone", default="vgg16", help="conf/backbone config (vgg16, vgg19, ...)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Hydra override of the training config, repeatable (style=candy, style.style_weight=1e9, "
        "'loss.content.layers=[relu4_2]')",
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    parser.add_argument("--lr", type=float, help="learning rate (default 1 for lbfgs, 0.01 for adam)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--init", choices=INITS, default="content", help="starting image for stylisation")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise init")
    parser.add_argument("--snapshot-every", type=int, default=0, metavar="N", help="save the image every N steps")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
