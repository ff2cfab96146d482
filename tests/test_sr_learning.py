"""Super-resolution learns on a CPU: short real runs of the x4 recipe beat bicubic on Set5 (slow).

800 steps of batch 8 at 96 px crops of the shared photos (bicubic degradation, the standard of published
tables), about 2.5 minutes each here; scored on the five full Set5 images, never seen in training.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import VGG16, WEIGHTS, compose_train

from stylenet.sr_evaluation import SRScorer, benchmark_images, bicubic, evaluate_sr
from stylenet.upscaling import load_upscaler, upscale
from train import train

RECIPE = ["experiment=sr_x4", "system.degradation=bicubic", "data.image_size=96", "data.batch_size=8",
          "data.max_images=null", "model.channels=64", "model.num_blocks=4", "trainer.max_steps=800",
          "trainer.val_check_interval=400"]  # fmt: skip


def set5_means(tmp_path, loss: str) -> dict[str, dict[str, float]]:
    train(compose_train(tmp_path, [*RECIPE, f"loss={loss}"]))
    upscaler = load_upscaler(tmp_path / "checkpoints" / "last.ckpt", backend="eager")
    methods = {"bicubic": bicubic(4), "net": lambda low: upscale(upscaler, low)}
    scorer = SRScorer.from_files(VGG16, WEIGHTS / "lpips_vgg_lin.pth")
    results = evaluate_sr(methods, {"set5": benchmark_images("set5")}, 4, ["bicubic"], scorer)
    means = {m: {k: float(np.mean([r.scores[k] for r in results if r.method == m])) for k in ("psnr_y", "lpips_vgg")}
             for m in methods}  # fmt: skip
    print(f"\n{loss}: Set5 x4 {means}")
    return means


@pytest.mark.slow
def test_a_pixel_loss_net_beats_bicubic_psnr_on_set5_by_half_a_db(tmp_path):
    means = set5_means(tmp_path, "sr_pixel")
    assert means["net"]["psnr_y"] >= means["bicubic"]["psnr_y"] + 0.5


@pytest.mark.slow
def test_a_feature_loss_net_beats_bicubic_lpips_on_set5(tmp_path):
    means = set5_means(tmp_path, "sr_feature")
    assert means["net"]["lpips_vgg"] < means["bicubic"]["lpips_vgg"]
