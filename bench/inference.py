"""Inference speed of a transform net: eager PyTorch, TorchScript, ONNX Runtime and OpenVINO (and CUDA when present).

"folded" rows run the net with its upsample + 3x3 convs computed as sub-pixel convs and its last
upsampling stage and 9x9 output conv on phase planes (:func:`stylenet.models.subpixel.fold_upsampling`): the
same function, with 16/36 of the upsampling convs' multiply-adds and the output conv in 12 channels.

    python bench/inference.py                                # the Johnson net of conf/model/johnson.yaml
    python bench/inference.py --checkpoint run/last.ckpt --sizes 256 512 1024 --repeats 5
    python bench/inference.py --model sr_net --sizes 256            # super-resolution x4: 256² in, 1024² out

For each size ``S`` it runs a real photo resized to ``(1, 3, S, S)``: one warm-up run per backend, which
gives its peak memory above the level before it (process RSS on CPU, sampled every 2 ms; allocated memory
on CUDA), one for its max and mean abs difference from eager, then ``--repeats`` rounds over all backends,
reporting each one's median time. Ratios are against eager PyTorch on the same device. OpenVINO runs
fp32, and bf16 where the CPU computes it natively.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import Tensor, nn

from stylenet.checkpoint import load as load_checkpoint
from stylenet.config import shared_dir
from stylenet.imageio import load_image
from stylenet.models.subpixel import fold_upsampling
from stylenet.runtimes import native_bf16, onnx_session, openvino_runner, run_onnx, to_onnx

ROOT = Path(__file__).resolve().parents[1]
Runner = Callable[[Tensor], Tensor]


class PeakRSS:
    """Context manager measuring the peak resident memory of this process above its level on entry."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval, self.process = interval, psutil.Process()
        self.peak = self.start = 0
        self._done = threading.Event()

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = self.process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def megabytes(self) -> float:
        return (self.peak - self.start) / 2**20


def timed(run: Runner, image: Tensor) -> float:
    """Milliseconds of one ``run(image)`` (synchronised on CUDA)."""
    start = time.perf_counter()
    run(image)
    if image.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3


def peak_memory(run: Runner, image: Tensor) -> float:
    """MiB above the starting level at the peak of one run: process RSS on CPU, allocated memory on CUDA."""
    if image.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        timed(run, image)
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    with PeakRSS() as memory:
        timed(run, image)
    return memory.megabytes


@torch.inference_mode()
def measure(
    runners: dict[str, Runner], photo: Tensor, size: int, repeats: int, device: torch.device
) -> dict[str, tuple[float, float, float, float]]:
    """``{backend: (median ms, peak MiB, max and mean abs difference from eager)}`` for ``photo`` ``(1, 3, h, w)``
    resized to ``(1, 3, size, size)``.

    The first run of each backend (a warm-up) gives its peak memory, the second its difference from the
    first backend's output; the timed runs then go round the backends ``repeats`` times, so a change in
    machine load affects every backend alike.
    """
    image = F.interpolate(photo, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1).to(device)
    memory = {name: peak_memory(run, image) for name, run in runners.items()}
    outputs = {name: run(image).float().to(device) for name, run in runners.items()}
    reference = next(iter(outputs.values()))
    difference = {name: (output - reference).abs() for name, output in outputs.items()}
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].append(timed(run, image))
    return {
        name: (
            statistics.median(times[name]),
            memory[name],
            float(difference[name].max()),
            float(difference[name].mean()),
        )
        for name in runners
    }


def bf16(net: nn.Module, images: Tensor) -> Tensor:
    """``net(images)`` under CUDA bf16 autocast."""
    with torch.autocast("cuda", dtype=torch.bfloat16):
        return net(images)


def backends(net: nn.Module, device: torch.device, workdir: Path) -> dict[str, Runner]:
    """The ways to run ``net`` on ``device``: eager first (the reference), then the exported formats."""
    net = net.to(device).eval()
    channels_last = copy.deepcopy(net).to(memory_format=torch.channels_last)
    runners: dict[str, Runner] = {
        "eager": net,
        "eager channels_last": lambda x: channels_last(x.contiguous(memory_format=torch.channels_last)),
        "eager folded": fold_upsampling(net),
        "torchscript (frozen)": torch.jit.freeze(torch.jit.script(net)),
    }
    if device.type == "cuda":
        runners["eager bf16 channels_last"] = lambda x: bf16(
            channels_last, x.contiguous(memory_format=torch.channels_last)
        )
    if device.type == "cpu":
        plain = onnx_session(to_onnx(net, workdir / "net.onnx", fold=False))
        folded = onnx_session(to_onnx(net, workdir / "folded.onnx"))
        runners["onnxruntime"] = lambda x: run_onnx(plain, x)
        runners["onnxruntime folded"] = lambda x: run_onnx(folded, x)
        for precision in ("fp32", "bf16") if native_bf16() else ("fp32",):
            runners[f"openvino folded {precision}"] = openvino_runner(workdir / "folded.onnx", precision)
    return runners


def table(rows: list[tuple[str, int, float, float, float, float, float]]) -> str:
    header = (
        f"{'backend':<24} {'size':>6} {'ms/image':>10} {'vs eager':>9} {'peak MiB':>9} {'max diff':>9} {'mean diff':>9}"
    )
    lines = [header]
    lines += [
        f"{name:<24} {size:>6} {ms:>10.1f} {ratio:>8.2f}x {mib:>9.0f} {most:>9.1e} {mean:>9.1e}"
        for name, size, ms, ratio, mib, most, mean in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="a checkpoint (default: an untrained --model)")
    parser.add_argument("--model", default="johnson", help="conf/model/<MODEL>.yaml, when no checkpoint is given")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median reported)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument(
        "--devices", nargs="+", choices=["cpu", "cuda"], help="default: the CPU, and CUDA where available"
    )
    parser.add_argument("--photo", type=Path, default=shared_dir() / "images/content/kodak24/kodim23.jpg")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.checkpoint:
        net = load_checkpoint(args.checkpoint).network
    else:
        net = instantiate(OmegaConf.load(ROOT / f"conf/model/{args.model}.yaml"))
    names = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    devices = [torch.device(name) for name in names]
    photo = load_image(args.photo)[None]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, repeats {args.repeats}, photo {args.photo.name}"
    )
    with tempfile.TemporaryDirectory() as workdir:
        for device in devices:
            rows = []
            runners = backends(net, device, Path(workdir))
            for size in args.sizes:
                results = measure(runners, photo, size, args.repeats, device)
                eager_ms = results["eager"][0]
                rows += [(name, size, ms, ms / eager_ms, *rest) for name, (ms, *rest) in results.items()]
            print(f"\n{device.type.upper()}\n{table(rows)}")


if __name__ == "__main__":
    main()
