"""Training-step speed: the library's steps, in fp32 and in the default precision, against the plain eager fp32
NCHW step of the same math.

    python -m bench.train_step                                  # Johnson (gram), cross-layer and meta network
    python -m bench.train_step --recipes gram --repeats 9       # more rounds on a quiet machine
    python -m bench.train_step system.channels_last=false       # train.py overrides (before the flags)
    python -m bench.train_step system.compile=true --device cuda --precision bf16-mixed   # on a GPU

Recipes are train.py's configs (``loss=gram``, ``loss=crosslayer``: VGG16, Johnson net, Adam; ``metanet``: the
meta network's CPU recipe, ``experiment=metanet2017 model=metanet8 loss=gram``, a new style per image). The
precision is train.py's default (``--precision auto``: bf16-mixed where the machine computes bf16 natively, as
:func:`stylenet.config.auto_precision` decides) unless given. The baseline of each recipe is its first row: for
gram and cross-layer the plain eager fp32 NCHW step of pytorch/examples' fast_neural_style with the same loss
terms (:mod:`bench.steps`), for the meta network (which no peer trains) the library's own step in fp32.
Every step is first run once under ``torch.utils.flop_counter`` (FLOPs per step; also the warm-up, which
includes compilation), once more for its peak memory above the level before it (process RSS sampled every
2 ms on CPU, allocated memory on CUDA), then ``--repeats`` timed rounds go over all steps in turn, each round
also timing a dense 3x3 conv (128->128 on 4x128x64x64) in fp32 and in the low precision: the machine's conv
throughput, so that a change in machine load affects everything alike. Printed: median s/step, images/s,
GFLOP/step, achieved GFLOP/s and its share of the conv throughput in the step's precision, peak memory, and
the speed-up and memory ratio against the baseline.
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
from bench.steps import PlainPerceptualLoss, metanet_step, plain_step, stylizer_step
from stylenet.config import auto_precision, shared_dir
from stylenet.imageio import load_image

ROOT = Path(__file__).resolve().parents[1]
SHARED = shared_dir()
AUTOCAST = {"32-true": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}
RECIPES = {
    "gram": ["loss=gram"],
    "crosslayer": ["loss=crosslayer"],
    "metanet": ["experiment=metanet2017", "model=metanet8", "loss=gram", "system.embedding_size=48"],
}
Step = Callable[[], object]  # one training step on the recipe's batch


@dataclass
class Contender:
    """One kind of training step on one recipe, and what was measured of it."""

    recipe: str
    name: str
    step: Step
    precision: str = "32-true"
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
    """train.py's config for ``recipe`` (:data:`RECIPES`) with ``overrides``."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(
            "train",
            overrides=[f"paths.shared={SHARED}", f"paths.output_dir={output_dir}", *RECIPES[recipe], *overrides],
        )


def recipe_batch(recipe: str, batch: int, size: int, device: torch.device) -> Tensor | dict[str, Tensor]:
    """Random ``(batch, 3, size, size)`` images; for the meta network as many style images beside them."""
    images = torch.rand(batch, 3, size, size, device=device)
    return {"content": images, "style": torch.rand_like(images)} if recipe == "metanet" else images


def contenders(cfg: DictConfig, recipe: str, batch: Tensor | dict[str, Tensor], precision: str) -> list[Contender]:
    """The baseline and the library's step in fp32 and in ``precision`` (once if that is fp32) on ``batch``,
    each training its own copy of the same network."""
    device = batch["content"].device if isinstance(batch, dict) else batch.device
    precisions = list(dict.fromkeys(["32-true", precision]))
    loss = instantiate(cfg.loss, encoder=instantiate(cfg.backbone))
    net = instantiate(cfg.model)
    systems = [instantiate(cfg.system, net=copy.deepcopy(net), loss=copy.deepcopy(loss)).to(device) for _ in precisions]
    optimizers = [system.configure_optimizers() for system in systems]
    flags = [f"channels_last={cfg.system.get('channels_last', False)}", f"compile={cfg.system.get('compile', False)}"]
    runs = []
    if recipe == "metanet":
        step, name = metanet_step, "metanet"
    else:
        step, name = stylizer_step, "stylizer"
        style = load_image(cfg.style.image, cfg.style.size)[None].to(device)
        plain_net = copy.deepcopy(net).to(device)
        plain_loss = PlainPerceptualLoss(loss, cfg.backbone.weights, style)
        optimizer = instantiate(cfg.system.optimizer)(plain_net.parameters())
        runs.append(
            Contender(recipe, "plain eager fp32 NCHW", lambda: plain_step(plain_net, plain_loss, optimizer, batch))
        )
    for system, system_optimizer, run_precision in zip(systems, optimizers, precisions, strict=True):

        def run(system=system, optimizer=system_optimizer, autocast=AUTOCAST[run_precision]) -> object:
            return step(system, optimizer, batch, autocast)

        runs.append(Contender(recipe, f"{name} {run_precision} ({', '.join(flags)})", run, run_precision))
    return runs


def measure(runs: list[Contender], device: torch.device, repeats: int) -> dict[str, list[float]]:
    """Fill in each contender's FLOPs, first-step time, peak memory and ``repeats`` step times (round by round);
    returns the conv throughput (GFLOP/s) of each round in each of the contenders' precisions."""
    for run in runs:
        counter = FlopCounterMode(display=False)
        with counter:
            run.first_step_s = timed(run.step, device)
        run.flops = counter.get_total_flops()
        run.peak_mib = peak_memory_mib(run.step, device)
    conv: dict[str, list[float]] = {run.precision: [] for run in runs}
    for _ in range(repeats):
        for precision, rounds in conv.items():
            rounds.append(conv_gflops(device, AUTOCAST[precision] or torch.float32))
        for run in runs:
            run.times.append(timed(run.step, device))
    return conv


def report(runs: list[Contender], batch: int, conv: dict[str, float], peak_tflops: float | None = None) -> str:
    """The table of ``runs``; with ``peak_tflops`` (the device's dense bf16 peak) a column of each step's share."""
    header = (
        f"{'recipe':<11} {'step':<62} {'s/step':>7} {'img/s':>6} {'GFLOP':>7} {'GFLOP/s':>8} "
        f"{'of conv':>7} {'of peak':>7} {'first s':>8} {'peak MiB':>9} {'speed-up':>9} {'memory':>7}"
    )
    lines = [header]
    baseline: dict[str, Contender] = {}
    for run in runs:
        base = baseline.setdefault(run.recipe, run)
        seconds = statistics.median(run.times)
        gflops = run.flops / seconds / 1e9
        of_peak = f"{gflops / peak_tflops / 1e3:.3f}" if peak_tflops else "-"
        lines.append(
            f"{run.recipe:<11} {run.name:<62} {seconds:>7.2f} {batch / seconds:>6.2f} {run.flops / 1e9:>7.1f} "
            f"{gflops:>8.1f} {gflops / conv[run.precision]:>7.2f} "
            f"{of_peak:>7} {run.first_step_s:>8.1f} {run.peak_mib:>9.0f} "
            f"{statistics.median(base.times) / seconds:>8.2f}x {run.peak_mib / base.peak_mib:>6.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="train.py config overrides, e.g. system.channels_last=false")
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), default=list(RECIPES))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--precision", choices=["auto", *AUTOCAST], default="auto", help="the library's step (auto: train.py's)"
    )
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, for a share-of-peak column")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = torch.device(args.device)
    precision = auto_precision(device.type) if args.precision == "auto" else args.precision
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as output_dir:
        runs = [
            run
            for recipe in args.recipes
            for run in contenders(
                recipe_config(recipe, args.overrides, output_dir),
                recipe,
                recipe_batch(recipe, args.batch, args.size, device),
                precision,
            )
        ]
    conv = measure(runs, device, args.repeats)
    threads = f"{torch.get_num_threads()} threads" if device.type == "cpu" else torch.cuda.get_device_name(device)
    print(f"device {device} ({threads}); batch {args.batch} at {args.size}x{args.size}; {args.repeats} timed rounds")
    for name, rounds in conv.items():
        print(
            f"dense 3x3 conv 128->128 on 4x128x64x64, {name}: median {statistics.median(rounds):.1f} GFLOP/s "
            f"(rounds: {', '.join(f'{c:.0f}' for c in rounds)})"
        )
    medians = {name: statistics.median(rounds) for name, rounds in conv.items()}
    print(report(runs, args.batch, medians, args.peak_tflops))


if __name__ == "__main__":
    main()
