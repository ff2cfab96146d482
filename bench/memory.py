"""Peak memory of ``stylenet stylize`` on very large photos, with the automatic tiling of :mod:`stylenet.memory`.

    python bench/memory.py --checkpoint /tmp/bench_ckpt/checkpoints/last.ckpt
    python bench/memory.py --checkpoint run/last.ckpt --sizes 6000x4000 8660x5773 --memory-budget 4

A checkpoint to run: ``python train.py style=starry data.image_size=64 trainer.max_steps=20 model.channels=16
hydra.run.dir=/tmp/bench_ckpt``. Each size is a real photo upscaled (bicubic) to it and saved as a JPEG; each
case runs ``python -m stylenet.cli stylize`` in a subprocess of its own on the default backend, and reports
whether it tiled (its notice), the subprocess's peak resident memory (``ru_maxrss`` from ``os.wait4``) and its
wall time, start-up and the model's conversion included.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from stylenet.config import shared_dir
from stylenet.memory import GB, default_budget


def size_arg(text: str) -> tuple[int, int]:
    width, height = (int(side) for side in text.lower().split("x"))
    return width, height


def stylize_peak(photo: Path, checkpoint: Path, output: Path, extra: list[str]) -> tuple[str, float, float]:
    """Run ``stylenet stylize photo`` in a subprocess: (its tiling notice or "no", peak RSS in GB, seconds)."""
    command = [sys.executable, "-m", "stylenet.cli", "stylize", str(photo), "-m", str(checkpoint), "-o", str(output)]
    start = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--quiet", "--overwrite", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"stylize failed on {photo.name}:\n{stderr[-3000:]}")
    tiles = [line.rsplit(" in ", 1)[-1] for line in stderr.splitlines() if "memory budget" in line]
    return (tiles[0] if tiles else "no"), usage.ru_maxrss * 1024 / GB, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True, help="a stylenet checkpoint")
    parser.add_argument("--sizes", type=size_arg, nargs="+", default=[(6000, 4000), (8660, 5773)])
    parser.add_argument("--photo", type=Path, default=shared_dir() / "images/content/neural_style/tubingen.jpg")
    parser.add_argument("--memory-budget", type=float, help="GB, passed to stylize (default: its own)")
    args = parser.parse_args()
    extra = ["--memory-budget", str(args.memory_budget)] if args.memory_budget else []
    budget = args.memory_budget or default_budget() / GB
    print(f"checkpoint {args.checkpoint}, photo {args.photo.name}, memory budget {budget:.1f} GB")
    print(f"{'size':<12} {'MP':>5} {'tiled':>16} {'peak GB':>8} {'seconds':>8}", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        for width, height in args.sizes:
            photo = Path(workdir) / f"{args.photo.stem}_{width}x{height}.jpg"
            upscaled = Image.open(args.photo).convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
            upscaled.save(photo, quality=95)
            del upscaled
            tiled, peak, seconds = stylize_peak(photo, args.checkpoint, Path(workdir) / "out", extra)
            size = f"{width}x{height}"
            print(f"{size:<12} {width * height / 1e6:>5.1f} {tiled:>16} {peak:>8.2f} {seconds:>8.0f}", flush=True)
            photo.unlink()


if __name__ == "__main__":
    main()
