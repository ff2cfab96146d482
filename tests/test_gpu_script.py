"""bench/gpu.sh works before a GPU is at hand: its --dry-run runs every step on the CPU at tiny sizes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, SHARED

from stylenet.checkpoint import load


@pytest.mark.slow  # about 95 s: three bench runs, two trainings, an export and an evaluation
def test_the_gpu_script_runs_every_step_dry_on_the_cpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "STYLENET_SHARED": str(SHARED)}
    result = subprocess.run(
        ["bash", "bench/gpu.sh", "--dry-run", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    summary = (tmp_path / "summary.md").read_text()
    for row in ("gram        stylizer bf16-mixed", "crosslayer  stylizer bf16-mixed", "metanet     metanet bf16-mixed"):
        assert row in summary
    assert "compile=True" in summary and "full Johnson recipe, 40,000 steps" in summary
    ddp = (tmp_path / "ddp.log").read_text()
    assert "Starting with 2 processes" in ddp and "s/step" in ddp
    assert "images/s" in (tmp_path / "data_loader.txt").read_text()
    assert "eager" in (tmp_path / "inference.txt").read_text()

    assert (tmp_path / "run/checkpoints/last.ckpt").is_file() and any((tmp_path / "run/samples").iterdir())
    shipped = tmp_path / "pretrained/starry.ckpt"
    assert load(shipped).kind == "stylizer"
    weights = torch.load(shipped, weights_only=True)["state_dict"].values()
    assert {w.dtype for w in weights if w.is_floating_point()} == {torch.float16}
    with (tmp_path / "pretrained/evaluation/evaluation.csv").open() as rows:
        assert len(list(csv.DictReader(rows))) >= 1
