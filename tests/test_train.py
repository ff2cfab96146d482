"""train.py end to end on real data with a real Trainer: configs, resume, errors, multirun, DDP, loggers."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
import torch
from conftest import FAST, ROOT, SHARED, compose_train
from hydra import compose, initialize_config_dir
from hydra.errors import InstantiationException

from stylenet.imageio import ImageReadError
from train import train


@pytest.mark.parametrize(
    "overrides",
    [
        ["loss=gram"],
        ["loss=crosslayer", "style=candy"],
        ["loss=gram_relative", "system.content_only_steps=1"],
        ["loss=gram_crosslayer", "model=johnson_resnext", "model.cardinality=4", "backbone=vgg19"],
    ],
)
def test_fast_dev_run_through_composed_config(tmp_path, overrides):
    metrics = train(compose_train(tmp_path, [*overrides, "+trainer.fast_dev_run=true"]))
    assert torch.isfinite(torch.tensor(metrics["train/total"]))
    assert metrics["train/total"] > 0


def _checkpoint(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def test_checkpoints_are_atomic_and_runs_resume(tmp_path):
    first = ["trainer.max_steps=2", "callbacks.model_checkpoint.every_n_train_steps=1", "trainer.val_check_interval=2"]
    train(compose_train(tmp_path, first))
    last = tmp_path / "checkpoints" / "last.ckpt"
    ckpt = _checkpoint(last)
    assert ckpt["global_step"] == 2
    assert ckpt["state_dict"] and all(k.startswith("net.") for k in ckpt["state_dict"])
    assert ckpt["stylenet"]["style"]["image"] == "starry_night.jpg"
    assert ckpt["stylenet"]["kind"] == "stylizer"
    assert ckpt["stylenet"]["network"]["name"] == "transform_net"  # a registered name, never an import path
    assert ckpt["stylenet"]["network"]["args"]["channels"] == ckpt["stylenet"]["config"]["model"]["channels"]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    assert (tmp_path / "samples" / "last.png").is_file()

    resumed = tmp_path / "resumed"
    train(compose_train(resumed, ["trainer.max_steps=4", f"ckpt_path={last}"]))
    ckpt2 = _checkpoint(resumed / "checkpoints" / "last.ckpt")
    assert ckpt2["global_step"] == 4
    assert any(not torch.equal(ckpt["state_dict"][k], v) for k, v in ckpt2["state_dict"].items())

    with pytest.raises(ValueError, match=r"another architecture"):
        train(compose_train(tmp_path / "wrong", ["model=johnson_resnext", "model.cardinality=4", f"ckpt_path={last}"]))


def test_bad_style_images_name_the_file(tmp_path):
    # Hydra wraps constructor errors in InstantiationException; the message is ours.
    with pytest.raises((FileNotFoundError, InstantiationException), match=r"image not found: .*no_such_style.jpg"):
        train(compose_train(tmp_path, [f"style.image={tmp_path}/no_such_style.jpg"]))
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    with pytest.raises((ImageReadError, InstantiationException), match=r"corrupt.jpg: cannot read image"):
        train(compose_train(tmp_path, [f"style.image={tmp_path}/corrupt.jpg"]))


def test_wandb_logger_works_offline(tmp_path):
    os.environ["WANDB_SILENT"] = "true"
    train(compose_train(tmp_path, ["logger=wandb", "logger.wandb.offline=true", "trainer.max_steps=1"]))
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert runs and any(runs[0].rglob("*.wandb"))


def _run_train_py(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "STYLENET_SHARED": str(SHARED), "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "train.py", *args, *FAST], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def test_multirun_runs_one_job_per_loss(tmp_path):
    _run_train_py(["-m", "loss=gram,crosslayer", "trainer.max_steps=1", f"hydra.sweep.dir={tmp_path}"])
    jobs = sorted(p for p in tmp_path.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    styles = [_checkpoint(job / "checkpoints" / "last.ckpt")["stylenet"]["config"]["loss"]["style"] for job in jobs]
    assert styles[0][0]["_target_"].endswith("GramLoss") and styles[1][0]["_target_"].endswith("CrossLayerLoss")


def test_ddp_two_cpu_processes(tmp_path):
    args = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.precision=32-true",
            "trainer.max_steps=2", f"hydra.run.dir={tmp_path}"]  # fmt: skip
    result = _run_train_py(args)
    log = result.stdout + result.stderr
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in log
    assert _checkpoint(tmp_path / "checkpoints" / "last.ckpt")["global_step"] == 2


def test_content_only_steps_train_without_the_style_terms_first(tmp_path):
    overrides = ["trainer.max_steps=4", "trainer.log_every_n_steps=1", "system.content_only_steps=2"]
    train(compose_train(tmp_path, overrides))
    rows = [row for row in csv.DictReader((tmp_path / "csv/version_0/metrics.csv").open()) if row["train/total"]]
    steps = {int(row["step"]): row for row in rows}
    assert sorted(steps) == [0, 1, 2, 3]
    for step, row in steps.items():
        style = [key for key, value in row.items() if key.startswith("train/gram/") and value]
        assert bool(style) == (step >= 2), (step, style)
        assert float(row["train/content/relu2_2"]) > 0
    for step in (0, 1):  # content only: the total is the content term (no TV in the preset)
        assert float(steps[step]["train/total"]) == pytest.approx(float(steps[step]["train/content/relu2_2"]))


def test_a_presets_content_only_start_reaches_the_system(tmp_path):
    udnie, starry = compose_train(tmp_path, ["style=udnie"]), compose_train(tmp_path, ["style=starry"])
    assert udnie.system.content_only_steps * udnie.data.batch_size == udnie.style.content_only_photos > 0
    assert "content_only_photos" not in starry.style and starry.system.content_only_steps == 0
    off = compose_train(tmp_path, ["style=udnie", "system.content_only_steps=0"])
    assert off.system.content_only_steps == 0


@pytest.mark.parametrize(("cuda", "steps", "batch", "workers"), [(False, 1600, 1, 0), (True, 40000, 4, 2)])
def test_the_default_schedule_fits_the_machine_and_counts_the_content_only_start_in_photos(
    monkeypatch, cuda, steps, batch, workers
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        for preset in ("udnie", "wave"):
            cfg = compose("train", overrides=[f"paths.shared={SHARED}", f"style={preset}"])
            assert (cfg.trainer.max_steps, cfg.data.batch_size, cfg.data.num_workers) == (steps, batch, workers)
            assert cfg.trainer.accelerator == ("gpu" if cuda else "cpu")
            assert cfg.system.content_only_steps * cfg.data.batch_size == 400  # photos, on either machine


def test_the_crosslayer_loss_weighs_content_at_ten_times_the_presets(tmp_path):
    gram = compose_train(tmp_path, ["style=starry", "loss=gram"])
    crosslayer = compose_train(tmp_path, ["style=starry", "loss=crosslayer"])
    assert gram.loss.content.weight == crosslayer.style.content_weight == 1e5
    assert crosslayer.loss.content.weight == 10 * crosslayer.style.content_weight
