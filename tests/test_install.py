"""A non-editable install of the package finds its configs and trains from any directory."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import FAST, ROOT, SHARED


def test_a_wheel_install_runs_every_command_from_another_directory(tmp_path):
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--target", str(target), str(ROOT)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target), "STYLENET_SHARED": str(SHARED)}

    def stylenet(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "stylenet.cli", *args]
        return subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)

    where = subprocess.run(
        [sys.executable, "-c", "import stylenet.config as c; print(c.__file__); print(c.config_dir())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(line.startswith(str(target)) for line in where), where  # the installed copy, not the checkout
    for command in ("train", "export", "stylize", "optimize", "evaluate"):
        assert stylenet(command, "--help").returncode == 0
    run = stylenet("train", "trainer.max_steps=2", "trainer.val_check_interval=2", "hydra.run.dir=run", *FAST)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (elsewhere / "run/checkpoints/last.ckpt").is_file()
