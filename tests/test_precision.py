"""bf16 training: the default where the machine computes it natively, and it learns as fp32 does."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from conftest import compose_train

from stylenet.runtimes import native_bf16
from train import train

STEPS, SIZE = 40, 64


def test_the_default_precision_is_bf16_where_native_and_a_key_overrides_it(tmp_path):
    native = "bf16-mixed" if native_bf16() else "32-true"
    assert compose_train(tmp_path).trainer.precision == native
    assert compose_train(tmp_path, ["trainer=cpu"]).trainer.precision == native
    assert compose_train(tmp_path, ["trainer.precision=32-true"]).trainer.precision == "32-true"
    gpu = compose_train(tmp_path, ["trainer=gpu"]).trainer.precision
    assert gpu == ("bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "32-true")


def training_curve(output_dir: Path, precision: str) -> np.ndarray:
    """The per-step training loss of a short real run (VGG16 from ../shared, real photos) in ``precision``."""
    overrides = [
        f"trainer.max_steps={STEPS}", f"data.image_size={SIZE}", "data.max_images=null", "model.channels=16",
        "trainer.log_every_n_steps=1", "trainer.val_check_interval=1000", f"trainer.precision={precision}",
    ]  # fmt: skip
    train(compose_train(output_dir, overrides))
    with next(output_dir.glob("csv/*/metrics.csv")).open() as rows:
        return np.array([float(row["train/total"]) for row in csv.DictReader(rows) if row["train/total"]])


def test_a_bf16_run_follows_the_fp32_runs_loss_curve(tmp_path):
    fp32 = training_curve(tmp_path / "fp32", "32-true")
    bf16 = training_curve(tmp_path / "bf16", "bf16-mixed")
    assert len(fp32) == len(bf16) == STEPS
    ratio = bf16 / fp32
    print(f"\nbf16/fp32 loss per step: min {ratio.min():.3f}, max {ratio.max():.3f}")
    assert np.abs(ratio - 1).max() > 1e-4, "the bf16 run must really compute in bf16"
    assert fp32[-5:].mean() < 0.5 * fp32[:5].mean(), "the fp32 run must learn"
    # the same trajectory: each step within 40%, and means over 5 steps within 12% of each other (one batch of 2
    # per step; a Zen 4's AVX512-BF16 gave steps up to 1.32x and windows up to 1.10x, a Xeon's AMX within 1.2x/1.08x)
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio
    windows = bf16.reshape(-1, 5).mean(axis=1) / fp32.reshape(-1, 5).mean(axis=1)
    assert np.all(np.abs(windows - 1) < 0.12), windows
