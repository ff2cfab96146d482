"""Video stylisation speed end to end (decode, stylise, encode) against the network alone, and peak memory.

    python bench/video.py                                   # a random Johnson net of conf/model/johnson.yaml
    python bench/video.py --channels 16                     # the same net at half the width
    python bench/video.py --precision fp32                  # what a CPU without native bf16 runs
    python bench/video.py --checkpoint run/last.ckpt --sizes 640x360 1280x720 --frames 60 --rounds 3

For each size, a clip of ``--frames`` frames is synthesised from a real photo (a pan,
:mod:`stylenet.synthetic_clips`) and encoded to H.264. Each round runs, in this process and on the default CPU
path of ``stylenet stylize`` (:func:`stylenet.inference.runnable`, ``backend="auto"``), the function the command
runs (:func:`stylenet.video_stylize.stylize_video`: decode, batches of 4, encode, overlapped), then the network
alone on the same frames, already decoded, in the same batches. It reports the median frames/s of each, their
ratio, and the peak resident memory of the end-to-end runs above the level before them (sampled every 2 ms).
A randomly initialised net computes exactly what a trained one of the same shape does, so its speed is the same.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from inference import PeakRSS  # bench/inference.py
from omegaconf import OmegaConf
from PIL import Image

from stylenet.config import shared_dir
from stylenet.inference import Model, StyleOptions, load_model, runnable
from stylenet.runtimes import PRECISIONS
from stylenet.synthetic_clips import save_clip, synthetic_clip
from stylenet.video_stylize import VIDEO_BATCH_SIZE, stylize_frames, stylize_video

ROOT = Path(__file__).resolve().parents[1]


def size_arg(text: str) -> tuple[int, int]:
    width, height = (int(side) for side in text.lower().split("x"))
    return width, height


def bench_model(checkpoint: Path | None, channels: int, cache: Path, precision: str) -> Model:
    """The checkpoint's model, or a random Johnson net of ``channels``, on the default CPU path (converted once)
    in ``precision`` (``auto``: bf16 where the CPU computes it natively)."""
    if checkpoint is not None:
        return load_model(checkpoint, cache_dir=cache, precision=precision)
    torch.manual_seed(0)
    net = instantiate(OmegaConf.load(ROOT / "conf/model/johnson.yaml"), channels=channels).eval()
    key = f"bench-video-random-johnson-{channels}"
    return runnable(net, key, "random Johnson net", precision=precision, cache_dir=cache)


def network_fps(model: Model, frames: list[np.ndarray]) -> float:
    """Frames/s of the network alone on decoded frames, in the batches the video path uses."""
    start = time.perf_counter()
    for first in range(0, len(frames), VIDEO_BATCH_SIZE):
        stylize_frames(model, frames[first : first + VIDEO_BATCH_SIZE], StyleOptions())
    return len(frames) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="a style checkpoint (default: a random Johnson net)")
    parser.add_argument("--sizes", type=size_arg, nargs="+", default=[(640, 360), (1280, 720)])
    parser.add_argument("--channels", type=int, default=32, help="width of the random net (the paper's: 32)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="as stylenet stylize --precision")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--photo", type=Path, default=shared_dir() / "images/content/neural_style/tubingen.jpg")
    args = parser.parse_args()
    photo = np.asarray(Image.open(args.photo).convert("RGB"))
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        model = bench_model(args.checkpoint, args.channels, folder / "cache", args.precision)
        name = args.checkpoint or f"random Johnson net (conf/model/johnson.yaml, {args.channels} channels)"
        print(f"{name}: {model.backend} {model.precision}, torch threads {torch.get_num_threads()}, "
              f"{args.frames} frames, batch {VIDEO_BATCH_SIZE}")  # fmt: skip
        print(f"{'size':<10} {'end-to-end fps':>14} {'network fps':>12} {'ratio':>6} {'peak MiB':>9}", flush=True)
        for width, height in args.sizes:
            frames = synthetic_clip(photo, "pan", width, height, args.frames).frames
            clip = folder / f"clip_{width}x{height}.mp4"
            save_clip(frames, clip)
            stylize_video(model, clip, folder / "warmup.mp4", progress=False)
            ends, networks, peaks = [], [], []
            for _ in range(args.rounds):
                with PeakRSS() as peak:
                    result = stylize_video(model, clip, folder / "out.mp4", progress=False)
                ends.append(result.fps)
                peaks.append(peak.peak - peak.start)
                networks.append(network_fps(model, frames))
            end, network = statistics.median(ends), statistics.median(networks)
            print(f"{width}x{height:<6} {end:>14.1f} {network:>12.1f} {end / network:>6.2f} "
                  f"{max(peaks) / 2**20:>9.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
