"""Training-step speed: the library's Stylizer step against the plain eager fp32 NCHW step of the same math.

    python -m bench.train_step                                  # Johnson (loss=gram) and cross-layer recipes
    python -m bench.train_step --recipes gram --repeats 9       # more rounds on a quiet machine
    python -m bench.train_step system.channels_last=false       # train.py overrides (before the flags)
    python -m bench.train_step system.compile=true --device cuda --autocast bf16   # on a GPU

Each recipe is train.py's config (``loss=<recipe>``: VGG16, Johnson net, Adam; batch and size from the flags).
Every step of each kind is first run once under ``torch.utils.flop_counter`` (FLOPs per step; also the warm-up,
which includes compilation), once more for its peak memory above the level before it (process RSS sampled
every 2 ms on CPU, allocated memory on CUDA), then ``--repeats`` timed rounds go over all steps in turn, each
round also timing a dense 3x3 conv (128->128 on 4x128x64x64, the machine's conv throughput), so that a change
in machine load affects everything alike. Printed: median s/step, images/s, GFLOP/step, achieved GFLOP/s and
its share of the conv throughput, peak memory, and the speed-up and memory ratio against the plain step.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from bench.inference import PeakRSS
from bench.steps import PlainPerceptualLoss, plain_step, stylizer_step
from stylenet.config import shared_dir
from stylenet.imageio import load_image

ROOT = Path(__file__).resolve().parents[1]
SHARED = shared_dir()
AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
Step = Callable[[Tensor], object]


@dataclass
class Contender:
    """One kind of training step on one recipe, and what was measured of it."""

    recipe: str
    name: str
    step: Step
    flops: int = 0
    first_step_s: float = 0.0
    peak_mib: float = 0.0
    times: list[float] = field(default_factory=list)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds of one ``fn()``, synchronised on CUDA."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def peak_memory_mib(fn: Callable[[], object], device: torch.device) -> float:
    """MiB above the starting level at the peak of one ``fn()``: process RSS on CPU, allocated memory on CUDA."""
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        timed(fn, device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    with PeakRSS() as memory:
        timed(fn, device)
    return memory.megabytes


def conv_gflops(device: torch.device, dtype: torch.dtype, repeats: int = 3) -> float:
    """Best GFLOP/s of a dense 3x3 128->128 conv on ``(4, 128, 64, 64)`` over NCHW and channels-last layouts."""
    images = torch.randn(4, 128, 64, 64, device=device, dtype=dtype)
    weight = torch.randn(128, 128, 3, 3, device=device, dtype=dtype)
    flops = 2 * 4 * 128 * 128 * 9 * 64 * 64
    best = float("inf")
    with torch.no_grad():
        for layout in (torch.contiguous_format, torch.channels_last):
            x, w = images.contiguous(memory_format=layout), weight.contiguous(memory_format=layout)
            F.conv2d(x, w, padding=1)  # warm-up: picks the algorithm
            best = min(best, *(timed(lambda x=x, w=w: F.conv2d(x, w, padding=1), device) for _ in range(repeats)))
    return flops / best / 1e9


def recipe_config(recipe: str, overrides: list[str], output_dir: str) -> DictConfig:
    """train.py's config for ``loss=<recipe>`` with ``overrides``."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(
            "train",
            overrides=[f"paths.shared={SHARED}", f"paths.output_dir={output_dir}", f"loss={recipe}", *overrides],
        )


def contenders(cfg: DictConfig, recipe: str, device: torch.device, autocast: torch.dtype | None) -> list[Contender]:
    """The plain step and the Stylizer step of ``cfg``, each training its own copy of the same network."""
    loss = instantiate(cfg.loss, encoder=instantiate(cfg.backbone))
    net = instantiate(cfg.model)
    plain_net = copy.deepcopy(net).to(device)
    system = instantiate(cfg.system, net=net, loss=loss).to(device)
    optimizer = system.configure_optimizers()
    style = load_image(cfg.style.image, cfg.style.size)[None].to(device)
    plain_loss = PlainPerceptualLoss(loss, cfg.backbone.weights, style)
    plain_optimizer = instantiate(cfg.system.optimizer)(plain_net.parameters())
    flags = [f"channels_last={cfg.system.channels_last}", f"compile={cfg.system.compile}"]
    if autocast is not None:
        flags.append(f"autocast={autocast}".replace("torch.", ""))
    return [
        Contender(recipe, "plain eager fp32 NCHW", lambda x: plain_step(plain_net, plain_loss, plain_optimizer, x)),
        Contender(recipe, f"stylizer ({', '.join(flags)})", lambda x: stylizer_step(system, optimizer, x, autocast)),
    ]


def measure(runs: list[Contender], images: Tensor, repeats: int, conv_dtype: torch.dtype) -> list[float]:
    """Fill in each contender's FLOPs, first-step time, peak memory and ``repeats`` step times (round by round);
    returns the conv throughput (GFLOP/s) of each round."""
    device = images.device
    for run in runs:
        counter = FlopCounterMode(display=False)
        with counter:
            run.first_step_s = timed(lambda run=run: run.step(images), device)
        run.flops = counter.get_total_flops()
        run.peak_mib = peak_memory_mib(lambda run=run: run.step(images), device)
    conv = []
    for _ in range(repeats):
        conv.append(conv_gflops(device, conv_dtype))
        for run in runs:
            run.times.append(timed(lambda run=run: run.step(images), device))
    return conv


def report(runs: list[Contender], batch: int, conv: float) -> str:
    header = (
        f"{'recipe':<11} {'step':<58} {'s/step':>7} {'img/s':>6} {'GFLOP':>7} {'GFLOP/s':>8} "
        f"{'of conv':>7} {'first s':>8} {'peak MiB':>9} {'speed-up':>9} {'memory':>7}"
    )
    lines = [header]
    baseline: dict[str, Contender] = {}
    for run in runs:
        base = baseline.setdefault(run.recipe, run)
        seconds = statistics.median(run.times)
        gflops = run.flops / seconds / 1e9
        lines.append(
            f"{run.recipe:<11} {run.name:<58} {seconds:>7.2f} {batch / seconds:>6.2f} {run.flops / 1e9:>7.1f} "
            f"{gflops:>8.1f} {gflops / conv:>7.2f} {run.first_step_s:>8.1f} {run.peak_mib:>9.0f} "
            f"{statistics.median(base.times) / seconds:>8.2f}x {run.peak_mib / base.peak_mib:>6.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="train.py config overrides, e.g. system.channels_last=false")
    parser.add_argument("--recipes", nargs="+", default=["gram", "crosslayer"], help="loss configs (conf/loss)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--autocast", choices=sorted(AUTOCAST), default="fp32", help="the Stylizer step's precision")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device, autocast = torch.device(args.device), AUTOCAST[args.autocast]
    torch.manual_seed(args.seed)
    images = torch.rand(args.batch, 3, args.size, args.size, device=device)
    with tempfile.TemporaryDirectory() as output_dir:
        runs = [
            run
            for recipe in args.recipes
            for run in contenders(recipe_config(recipe, args.overrides, output_dir), recipe, device, autocast)
        ]
    conv = measure(runs, images, args.repeats, autocast or torch.float32)
    threads = f"{torch.get_num_threads()} threads" if device.type == "cpu" else torch.cuda.get_device_name(device)
    print(f"device {device} ({threads}); batch {args.batch} at {args.size}x{args.size}; {args.repeats} timed rounds")
    print(
        f"dense 3x3 conv 128->128 on 4x128x64x64: median {statistics.median(conv):.1f} GFLOP/s "
        f"(rounds: {', '.join(f'{c:.0f}' for c in conv)})"
    )
    print(report(runs, args.batch, statistics.median(conv)))


if __name__ == "__main__":
    main()
