"""Sweeps and cluster launches on Hydra's engines: an Optuna study and a submitit launch, run for real."""

from __future__ import annotations

import math

import torch
import yaml
from test_train import _run_train_py

TINY_RUN = ["trainer.max_steps=2", "trainer.val_check_interval=2", "data.val_size=2"]


def test_an_optuna_sweep_of_three_trials_records_its_best_value(tmp_path):
    _run_train_py(["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=3", f"hydra.sweep.dir={tmp_path}", *TINY_RUN])
    results = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert results["name"] == "optuna" and math.isfinite(results["best_value"]) and results["best_value"] > 0
    assert set(results["best_params"]) == {"style.style_weight", "style.content_weight", "system.optimizer.lr"}
    trials = sorted(p for p in tmp_path.iterdir() if p.is_dir() and p.name.isdigit())
    assert len(trials) == 3
    weights = {torch.load(t / "checkpoints/last.ckpt", weights_only=True)["stylenet"]["config"]["style"]["style_weight"]
               for t in trials}  # fmt: skip
    assert len(weights) == 3  # the sampler chose three different points


def test_a_submitit_local_launch_runs_a_training_job(tmp_path):
    _run_train_py(["-m", "hydra/launcher=local", f"hydra.sweep.dir={tmp_path}", *TINY_RUN])
    assert torch.load(tmp_path / "0/checkpoints/last.ckpt", weights_only=True)["global_step"] == 2
    assert list((tmp_path / ".submitit").rglob("*_result.pkl"))  # submitit ran it as its own job
