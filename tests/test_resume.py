"""Preemption and resume lose nothing: the same weights as a run that never stopped (real Trainer, real photos)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import compose_train

from train import train


class SignalAtStep(L.Callback):
    """Sends this process ``signal_name`` when the step after ``step`` starts (a preemption notice)."""

    def __init__(self, step: int, signal_name: str) -> None:
        self.step, self.signal = step, signal.Signals[signal_name]

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signal)


def run(out: Path, steps: int, workers: int, *extra: str) -> Path:
    overrides = [f"trainer.max_steps={steps}", f"data.num_workers={workers}", "trainer.val_check_interval=100"]
    train(compose_train(out, [*overrides, "callbacks.model_checkpoint.every_n_train_steps=5", *extra]))
    return out / "checkpoints/last.ckpt"


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """The weights of 10 steps that never stopped (no loader workers; crops and order do not depend on them)."""
    return weights(run(tmp_path_factory.mktemp("straight"), 10, 0, "ckpt_path=last"))  # nothing to resume: fresh


def assert_same_weights(found: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    for key, value in expected.items():
        torch.testing.assert_close(found[key], value, rtol=1e-5, atol=1e-6, msg=key)


@pytest.mark.parametrize("workers", [0, 2])
def test_half_a_run_then_resume_gives_the_weights_of_the_whole_run(tmp_path, workers, straight):
    # 8 photos in batches of 2: 4 steps an epoch; the resume at step 5 is in the middle of the second epoch
    half = run(tmp_path, 5, workers)
    resumed = run(tmp_path, 10, workers, f"ckpt_path={half}")
    assert torch.load(resumed, weights_only=True)["global_step"] == 10
    assert_same_weights(weights(resumed), straight)


def test_another_seed_gives_other_weights(tmp_path, straight):
    other = weights(run(tmp_path, 10, 0, "data.seed=1"))  # the comparison above can fail
    assert any(not torch.allclose(other[k], v, atol=1e-4) for k, v in straight.items())


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGUSR1"])
def test_a_preemption_signal_saves_the_current_step_and_the_resumed_run_matches(tmp_path, signal_name, straight):
    target = f"+callbacks.preempt._target_={__name__}.SignalAtStep"
    run(tmp_path, 10, 0, target, "+callbacks.preempt.step=2", f"+callbacks.preempt.signal_name={signal_name}")
    saved = tmp_path / "checkpoints/last.ckpt"
    assert torch.load(saved, weights_only=True)["global_step"] == 3  # the step during which the signal came
    assert not list((tmp_path / "checkpoints").glob(".*.tmp"))
    assert signal.getsignal(signal.Signals[signal_name]) is not None  # handlers restored, the process lives on
    resumed = run(tmp_path, 10, 0, "ckpt_path=last")  # as a requeued cluster job resumes
    assert_same_weights(weights(resumed), straight)
