"""Meta-network timings on this machine: switching to a new style, and stylising at 256² and 512².

    python bench/metanet.py [--channels 8] [--group-width 128] [--style-sizes 256] [--embedding-size 48]

A style switch is the VGG embedding of the style image (resized to --embedding-size, the
``system.embedding_size`` of training; VGG only up to the deepest embedding tap, relu4_3) plus the
meta network (hidden layer and heads). ``--embedding-size 0`` embeds the style image as given. A
switch runs in eager PyTorch and then in ONNX Runtime (``stylenet.runtimes.switch_with_onnxruntime``).
Prints milliseconds (median of --repeats), the share of the switch spent on the style code (resize,
VGG, hidden layer), and the size of the generated (baked) TransformNet in bytes.
An untrained meta network times the same as a trained one; no checkpoint is needed.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from stylenet.config import shared_dir
from stylenet.imageio import load_image
from stylenet.models import ArbitraryStyleNet, MetaTransformNet, StyleEmbedding
from stylenet.runtimes import switch_with_onnxruntime
from stylenet.vgg import VGGEncoder

SHARED = shared_dir()


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def state_bytes(module: torch.nn.Module) -> int:
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=8, help="transform-net base width (8, 16, 32)")
    parser.add_argument("--style-sizes", type=int, nargs="+", default=[256])
    parser.add_argument("--content-sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--group-width", type=int, default=128, help="hidden units per generated conv")
    parser.add_argument("--embedding-size", type=int, default=48, help="longest side the embedding reads (0: as given)")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--weights", type=Path, default=SHARED / "weights/vgg16_imagenet_features.pth")
    parser.add_argument("--style", type=Path, default=SHARED / "images/style/fast_neural_style/starry_night.jpg")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    embedding = StyleEmbedding(VGGEncoder("vgg16", args.weights), size=args.embedding_size or None)
    net = MetaTransformNet(channels=args.channels, group_width=args.group_width)
    model = ArbitraryStyleNet(embedding, net).eval()
    read = f"resized to {args.embedding_size} px" if args.embedding_size else "as given"
    threads = torch.get_num_threads()
    print(f"base {args.channels}, group width {args.group_width}, {threads} threads, median of {args.repeats}")
    print(f"style images {read} for the embedding")
    styles = {
        size: torch.nn.functional.interpolate(load_image(args.style, size)[None], size=(size, size))[0]
        for size in args.style_sizes
    }
    with tempfile.TemporaryDirectory() as workdir, torch.inference_mode():
        for backend in ("eager", "onnxruntime"):
            if backend == "onnxruntime":
                switch_with_onnxruntime(model, workdir, args.threads)
            for size, style in styles.items():
                code = median_ms(lambda s=style: model.style_code([s]), args.repeats)
                switch = median_ms(lambda s=style: model.generate(model.style_code([s])), args.repeats)
                share = f"style code {code:.1f} ms = {code / switch:.0%}"
                print(f"style switch at {size}², {backend}: {switch:8.1f} ms  ({share})")
            code = model.style_code([style])
            heads = median_ms(lambda c=code: model.generate(c), args.repeats)
            print(f"generated weights from a code (heads), {backend}: {heads:8.1f} ms")
        baked = model.bake(code)
        for size in args.content_sizes:
            image = torch.rand(1, 3, size, size)
            generated = median_ms(lambda x=image: model(x, code), args.repeats)
            plain = median_ms(lambda x=image: baked(x), args.repeats)
            print(f"stylise {size}²: {generated:8.1f} ms generated weights, {plain:8.1f} ms baked TransformNet")
    print(f"baked TransformNet: {state_bytes(baked):,} bytes; meta network: {state_bytes(model.net):,} bytes")


if __name__ == "__main__":
    main()
