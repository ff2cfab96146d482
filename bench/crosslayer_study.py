"""Gram vs cross-layer style loss in optimisation-based stylisation and texture synthesis.

The configurations of Table 2 of the cross-layer correlation paper: VGG16, Adam (lr 1e-2) from the
content image, Gram on relu1_1..relu3_1 against the cross-layer pairs (relu1_1, relu2_1) +
(relu2_1, relu3_1) with average and with max pooling, and Gram on relu1_1..relu4_1 against the pairs
(relu1_1, relu3_1) + (relu2_1, relu4_1). For each it prints the median seconds per iteration after
warm-up (one forward and backward pass of the loss, the configurations of a group timed in turn, round
after round, so that a load change on a shared machine hits them alike), the ratio to the Gram baseline
of its group, the ratio predicted by counting multiply-adds,
and the final losses; then it synthesises textures from one noise image with Gram on relu1_1..relu3_1
and with the pairs between them. Writes two contact sheets.

Every style term is normalised to 1 at the start (its weight is ``style_scale`` over its value at the
content image, or at the noise image for textures), so that all configurations get the same initial
style pressure and their final style losses read as fractions of the initial one.

    python bench/crosslayer_study.py --steps 40 --out docs
    python bench/crosslayer_study.py --precision bf16 --out docs     # under bf16 autocast: *_bf16.png sheets

``--precision bf16`` runs every loss evaluation under ``torch.autocast`` in bf16 (the images being optimised
stay fp32), as bf16-mixed training does.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from stylenet.config import shared_dir
from stylenet.imageio import load_image
from stylenet.losses import ContentLoss, CrossLayerLoss, GramLoss, PerceptualLoss, StyleLoss
from stylenet.pixel_optimization import OptimizationResult, stylize_by_optimization, synthesize_texture
from stylenet.plotting import contact_sheet
from stylenet.vgg import VGGEncoder

SHARED = shared_dir()
SHALLOW = ("relu1_1", "relu2_1", "relu3_1")
DEEP = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")

StyleFactory = Callable[[], StyleLoss]
# group -> [(label, style loss)]; the first of each group is its baseline
TABLE_2: dict[str, list[tuple[str, StyleFactory]]] = {
    "relu1_1..relu3_1": [
        ("Gram relu1_1, relu2_1, relu3_1", lambda: GramLoss(SHALLOW)),
        ("cross avg (1_1,2_1)+(2_1,3_1)", lambda: CrossLayerLoss([SHALLOW[0:2], SHALLOW[1:3]], "avg")),
        ("cross max (1_1,2_1)+(2_1,3_1)", lambda: CrossLayerLoss([SHALLOW[0:2], SHALLOW[1:3]], "max")),
    ],
    "relu1_1..relu4_1": [
        ("Gram relu1_1..relu4_1", lambda: GramLoss(DEEP)),
        ("cross avg (1_1,3_1)+(2_1,4_1)", lambda: CrossLayerLoss([DEEP[0::2], DEEP[1::2]], "avg")),
        ("cross max (1_1,3_1)+(2_1,4_1)", lambda: CrossLayerLoss([DEEP[0::2], DEEP[1::2]], "max")),
    ],
}


def conv_macs(encoder: VGGEncoder, image: torch.Tensor, deepest: str) -> float:
    """Multiply-adds of the encoder's convolutions up to ``deepest`` on ``image`` ``(1, 3, H, W)``."""
    last = encoder.index(deepest)
    layers = zip(encoder.names[: last + 1], encoder.layers[: last + 1], strict=True)
    convs = {name: layer for name, layer in layers if isinstance(layer, nn.Conv2d)}
    with torch.no_grad():
        outputs = encoder(image, convs)
    return float(sum(conv.weight[0].numel() * outputs[name].numel() for name, conv in convs.items()))


def statistic_macs(loss: StyleLoss, features: dict[str, torch.Tensor]) -> float:
    """Multiply-adds of the style statistics (each matrix product, plus the pooling windows' adds)."""
    if isinstance(loss, GramLoss):
        return float(sum(f.shape[1] ** 2 * f.shape[2] * f.shape[3] for f in (features[t] for t in loss.layers)))
    total = 0.0
    for (a, b), geometry in loss.geometry.items():
        ca, (cb, hb, wb) = features[a].shape[1], features[b].shape[1:]
        total += ca * cb * hb * wb + ca * hb * wb * geometry.kernel**2
    return total


def multiply_adds(encoder: VGGEncoder, loss: PerceptualLoss, image: torch.Tensor) -> float:
    """Forward multiply-adds of one loss evaluation: convolutions to the deepest tap plus the statistic."""
    deepest = max(loss.style_taps + loss.content_taps, key=encoder.index)
    with torch.no_grad():
        features = encoder(image, loss.style_taps)
    return conv_macs(encoder, image, deepest) + statistic_macs(loss.style[0], features)


def normalised(loss: PerceptualLoss, start: torch.Tensor, style_scale: float) -> None:
    """Weight every style term so that it equals ``style_scale`` at ``start`` ``(1, 3, H, W)``."""
    with torch.no_grad():
        for style_loss in loss.style:
            style_loss.weight = 1.0
            terms = style_loss(loss.encoder(start, style_loss.taps))
            style_loss.weight = style_scale / float(sum(terms.values()))


def median_seconds(result: OptimizationResult, warmup: int) -> float:
    return statistics.median(result.step_seconds[warmup:])


def interleaved_step_seconds(
    losses: Sequence[PerceptualLoss], start: torch.Tensor, rounds: int, warmup: int
) -> list[float]:
    """Median seconds of one iteration (forward and backward at ``start`` ``(1, 3, H, W)``) of each loss,
    taking the losses in turn within each of ``warmup + rounds`` rounds; warm-up rounds are dropped."""
    image = start.clone().requires_grad_(True)
    times: list[list[float]] = [[] for _ in losses]
    for round_index in range(warmup + rounds):
        for loss, loss_times in zip(losses, times, strict=True):
            begin = time.perf_counter()
            image.grad = None
            loss(image)["total"].backward()
            if round_index >= warmup:
                loss_times.append(time.perf_counter() - begin)
    return [statistics.median(t) for t in times]


def stylization_study(args: argparse.Namespace, encoder: VGGEncoder) -> list[tuple[str, torch.Tensor]]:
    """Prints the Table 2 rows; returns the sheet's tiles: content and group 1, style and group 2."""
    content, style = load_image(args.content, args.size), load_image(args.style, args.size)
    tiles = []
    print("| config | s/iter | ratio to Gram | MAC ratio | content loss | style loss / initial | Gram loss / initial |")
    print("|---|---|---|---|---|---|---|")
    for first_tile, configs in zip((("content", content), ("style", style)), TABLE_2.values(), strict=True):
        tiles.append(first_tile)
        yardstick = PerceptualLoss(encoder, style=[configs[0][1]()])
        yardstick.set_style(style[None])
        normalised(yardstick, content[None], 1.0)
        losses = []
        for _, make_style in configs:
            loss = PerceptualLoss(encoder, ContentLoss(args.content_layers, args.content_weight), [make_style()])
            loss.set_style(style[None])
            loss.set_content(content[None])
            normalised(loss, content[None], args.style_scale)
            losses.append(loss)
        seconds = interleaved_step_seconds(losses, content[None], args.rounds, args.warmup)
        macs = [multiply_adds(encoder, loss, content[None]) for loss in losses]
        for (label, _), loss, step_seconds, step_macs in zip(configs, losses, seconds, macs, strict=True):
            result = stylize_by_optimization(loss, content, [style], args.steps, "adam", args.lr, progress=True)
            with torch.no_grad():
                gram_yardstick = float(yardstick(result.image)["total"])
            final = result.history[-1]
            ratios = f"{step_seconds / seconds[0]:.2f} | {step_macs / macs[0]:.2f}"
            values = f"{final['content']:.3g} | {final['style'] / args.style_scale:.3f} | {gram_yardstick:.3f}"
            print(f"| {label} | {step_seconds:.3f} | {ratios} | {values} |", flush=True)
            tiles.append((f"{label}\n{step_seconds:.2f} s/it ({step_seconds / seconds[0]:.2f}x)", result.image[0]))
    return tiles


def texture_study(args: argparse.Namespace, encoder: VGGEncoder) -> list[tuple[str, torch.Tensor]]:
    style = load_image(args.style, args.texture_style_size)
    tiles = [("style", style)]
    noise = torch.rand((1, 3, args.texture_size, args.texture_size), generator=torch.Generator().manual_seed(0))
    print("\n| texture config | s/iter | style loss / initial |\n|---|---|---|")
    for label, make_style in TABLE_2["relu1_1..relu3_1"]:
        loss = PerceptualLoss(encoder, style=[make_style()])
        loss.set_style(style[None])
        normalised(loss, noise, 1.0)
        size = (args.texture_size, args.texture_size)
        result = synthesize_texture(loss, [style], size, args.texture_steps, "lbfgs", seed=0, progress=True)
        seconds = median_seconds(result, args.warmup)
        print(f"| {label} | {seconds:.3f} | {result.history[-1]['style']:.4f} |", flush=True)
        tiles.append((label, result.image[0]))
    return tiles


def save_sheet(tiles: Sequence[tuple[str, torch.Tensor]], columns: int, path: Path) -> None:
    sheet = contact_sheet(tiles, columns=columns, tile=224).quantize(256, dither=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    tubingen = SHARED / "images/content/neural_style/tubingen.jpg"
    parser.add_argument("--content", type=Path, default=tubingen)
    parser.add_argument("--style", type=Path, default=SHARED / "images/style/fast_neural_style/starry_night.jpg")
    parser.add_argument("--weights", type=Path, default=SHARED / "weights/vgg16_imagenet_features.pth")
    parser.add_argument("--size", type=int, default=256, help="longest side of content and style")
    parser.add_argument("--steps", type=int, default=40, help="Adam steps per stylisation")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--rounds", type=int, default=10, help="timed iterations per configuration")
    parser.add_argument("--warmup", type=int, default=2, help="iterations left out of the timing median")
    parser.add_argument("--content-layers", nargs="+", default=["relu2_2"])
    parser.add_argument("--content-weight", type=float, default=1.0)
    parser.add_argument("--style-scale", type=float, default=100.0, help="initial style loss (content weight 1)")
    parser.add_argument("--texture-size", type=int, default=128)
    parser.add_argument("--texture-style-size", type=int, default=256)
    parser.add_argument("--texture-steps", type=int, default=40, help="L-BFGS steps per texture")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="bf16: under bf16 autocast")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    encoder = VGGEncoder("vgg16", args.weights)
    print(
        f"VGG16, {args.size} px, Adam lr {args.lr}, {args.steps} steps from the content; content "
        f"{args.content_layers} weight {args.content_weight}, style scale {args.style_scale}; "
        f"{torch.get_num_threads()} threads; {args.precision}"
    )
    start = time.perf_counter()
    suffix = "" if args.precision == "fp32" else f"_{args.precision}"
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
        save_sheet(stylization_study(args, encoder), 4, args.out / f"crosslayer_study{suffix}.png")
        save_sheet(texture_study(args, encoder), 4, args.out / f"texture_study{suffix}.png")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
