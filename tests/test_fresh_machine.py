"""A machine without ../shared trains on the real paths: torchvision's weights enum, the packaged style
preset and a streamed dataset, all offline (the caches those paths read are seeded from real files)."""

from __future__ import annotations

import os
import subprocess
import sys

import datasets
import torch
from conftest import FAST, KODAK, ROOT, VGG16


def test_train_py_without_shared_uses_torchvision_weights_the_packaged_style_and_a_stream(tmp_path):
    torch_home = tmp_path / "torch"
    (torch_home / "hub/checkpoints").mkdir(parents=True)
    (torch_home / "hub/checkpoints/vgg16-397923af.pth").symlink_to(VGG16)  # torchvision's file name for it
    photos = tmp_path / "photos.parquet"  # stands in for the hub dataset, loaded by the same streaming call
    rows = {"image": [{"bytes": path.read_bytes(), "path": path.name} for path in KODAK[:12]]}
    datasets.Dataset.from_dict(rows).cast_column("image", datasets.Image()).to_parquet(str(photos))
    empty = tmp_path / "no_shared"
    empty.mkdir()
    env = {**os.environ, "STYLENET_SHARED": str(empty), "TORCH_HOME": str(torch_home), "HF_DATASETS_OFFLINE": "1"}
    overrides = [
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        "data.fallback.path=parquet",
        f"+data.fallback.data_files={photos}",
        f"hydra.run.dir={tmp_path / 'run'}",
        *FAST,
    ]
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *overrides], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert "no local images at" in log and "reading parquet instead (streamed)" in log
    assert "using torchvision's vgg16 IMAGENET1K_V1" in log
    checkpoint = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 2
    config = checkpoint["stylenet"]["config"]
    assert config["style"]["image"] == str(ROOT / "stylenet/styles/starry_night.jpg")
    assert config["backbone"]["weights"].startswith(str(empty))  # the local file wins where it exists
    assert (tmp_path / "run/samples/last.png").is_file()
