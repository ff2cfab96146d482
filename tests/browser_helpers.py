"""Headless Chromium (Debian's package) driven by Playwright, for the web page's tests and benchmark.

The page says where it is in ``document.body.dataset.phase``: ``loading``, ``ready``, ``busy``, ``done`` or
``error``; float arrays come back from ``window.stylenet.base64``. Outside CI a machine without Chromium,
Playwright or the onnxruntime-web package skips these tests; in CI (``CI`` set) their absence fails them.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ORT_WEB = ROOT / "web/node_modules/onnxruntime-web"  # `npm ci --prefix web` (as .ci/run does) puts it there
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
# a new profile each launch; no background connections (this machine has no network)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require(available: bool, reason: str) -> None:
    """Skip (fail in CI) when a browser-test prerequisite is missing."""
    if not available:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI installs it: see .ci/run)")
        pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium browser (Playwright's ``Browser``)."""
    require(CHROMIUM.is_file(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_phase(page, *phases: str, timeout_s: float = 120) -> str:
    """Wait until the page is in one of ``phases``; returns the phase."""
    page.wait_for_function(f"{list(phases)!r}.includes(document.body.dataset.phase)", timeout=timeout_s * 1000)
    return page.evaluate("document.body.dataset.phase")


def open_page(browser, url: str):
    """A new tab on ``url``, once the page has loaded its models (or failed to)."""
    page = browser.new_page()
    page.goto(url)
    wait_phase(page, "ready", "error")
    return page


def page_array(page, expression: str) -> np.ndarray:
    """The Float32Array that ``expression`` evaluates to in the page, as a NumPy array."""
    encoded = page.evaluate(f"window.stylenet.base64({expression})")
    return np.frombuffer(base64.b64decode(encoded), dtype=np.float32)


def page_image(page, expression: str) -> np.ndarray:
    """The page's ``{data, width, height}`` tensor at ``expression`` as a ``(1, 3, H, W)`` array."""
    width, height = page.evaluate(f"[{expression}.width, {expression}.height]")
    return page_array(page, f"{expression}.data").reshape(1, 3, height, width)
