"""stylenet stylize --devices 2: two real DDP processes over gloo write every readable photo once, report the
unreadable one, and a rerun resumes: everything is skipped and nothing rewritten. Without --devices no Lightning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image
from stylize_helpers import KODAK

LEGACY_STYLIZER = Path(__file__).parent / "fixtures/legacy_stylizer.ckpt"  # a tiny real stylenet checkpoint


def stylize_on_two_processes(inputs: Path, outputs: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "stylenet.cli", "stylize", str(inputs), "-m", str(LEGACY_STYLIZER)]
    command += ["-o", str(outputs), "--size", "96", "--devices", "2", "--accelerator", "cpu", "--quiet"]
    return subprocess.run(command, capture_output=True, text=True, cwd=inputs.parent, timeout=120)


def test_two_processes_write_each_photo_once_report_the_unreadable_one_and_resume(tmp_path):
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    photos = KODAK[:6]
    for photo in photos:
        (inputs / photo.name).write_bytes(photo.read_bytes())
    data = KODAK[6].read_bytes()
    (inputs / "corrupt.jpg").write_bytes(data[: len(data) // 3])

    first = stylize_on_two_processes(inputs, outputs)
    assert first.returncode == 1, first.stderr[-3000:]
    assert "Starting with 2 processes" in first.stderr and "distributed_backend=gloo" in first.stderr
    assert "stylised 6, skipped 0, failed 1" in first.stderr  # the ranks' summaries, gathered: no photo twice
    failures = [line for line in first.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == 1 and "corrupt.jpg" in failures[0]
    # every readable photo once, under its own name, and no temporary file left beside them
    assert sorted(p.name for p in outputs.iterdir()) == sorted(p.name for p in photos)
    for photo in photos:
        with Image.open(outputs / photo.name) as result:
            assert max(result.size) == 96
    written = {p.name: p.stat().st_mtime_ns for p in outputs.iterdir()}

    again = stylize_on_two_processes(inputs, outputs)
    assert again.returncode == 1, again.stderr[-3000:]
    assert "stylised 0, skipped 6, failed 1" in again.stderr
    assert {p.name: p.stat().st_mtime_ns for p in outputs.iterdir()} == written


def test_only_the_devices_path_imports_lightning():
    code = "import sys, stylenet.commands.stylize; print([m for m in sys.modules if m.startswith('lightning')])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
