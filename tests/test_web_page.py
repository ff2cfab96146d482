"""The web page of ``stylenet export --web`` in headless Chromium: real photos, onnxruntime-web's WASM backend,
compared with ONNX Runtime in Python on the page's own input tensors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from browser_helpers import ORT_WEB, chromium, open_page, page_array, page_image, require, wait_phase
from stylize_helpers import KODAK, STARRY
from torch import nn

from stylenet.cli import main
from stylenet.color import blend, preserve_color
from stylenet.imageio import load_image
from stylenet.runtimes import onnx_session
from stylenet.web_export import ORT_WEB_CDN, ORT_WEB_VERSION, export_page
from stylenet.web_server import serve_in_background

ROOT = Path(__file__).resolve().parents[1]
# small real checkpoints of both kinds, from earlier versions: a Johnson net (starry_night.jpg) and a meta net
LEGACY_STYLIZER = ROOT / "tests/fixtures/legacy_stylizer.ckpt"
LEGACY_METANET = ROOT / "tests/fixtures/legacy_metanet.ckpt"
CANDY = STARRY.with_name("candy.jpg")
PHOTO = KODAK[3]
MAX_SIZE = 384  # below the photo's 500 px, so the page downscales it with a notice
# onnxruntime-web's WASM kernels against native ONNX Runtime on the same float32 input: the same graph, other
# summation orders; outputs are in [0, 1], and 8-bit images quantise at 2e-3
WASM_TOLERANCE = 5e-4  # measured: up to 1.3e-4 (mean 1e-5) on a 683x512 photo through the meta net
BY = "\N{MULTIPLICATION SIGN}"  # the page writes sizes as 500 BY 500


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def runtime() -> Path:
    require((ORT_WEB / "package.json").is_file(), f"onnxruntime-web is not installed in {ORT_WEB.parent}")
    return ORT_WEB


def export_web(checkpoint: Path, folder: Path, runtime: Path, *args: str) -> Path:
    command = ["export", str(checkpoint), "--web", str(folder), "--web-runtime", str(runtime), "--check-size", "67"]
    assert main([*command, "--max-size", str(MAX_SIZE), *args]) == 0
    return folder


@pytest.fixture(scope="module")
def fixed_page(runtime, tmp_path_factory) -> Path:
    return export_web(LEGACY_STYLIZER, tmp_path_factory.mktemp("web") / "starry", runtime)


@pytest.fixture(scope="module")
def any_style_page(runtime, tmp_path_factory) -> Path:
    return export_web(LEGACY_METANET, tmp_path_factory.mktemp("web") / "any", runtime)


def run_onnx_file(path: Path, **feeds: np.ndarray) -> np.ndarray:
    return onnx_session(path).run(None, feeds)[0]


def test_the_fixed_style_page_stylises_a_photo_as_onnx_runtime_does(browser, fixed_page):
    server, url = serve_in_background(fixed_page)
    try:
        page = open_page(browser, url)
        assert "starry_night.jpg" in page.inner_text("#model-info") and "wasm" in page.inner_text("#model-info")
        page.set_input_files("#photo", str(PHOTO))
        assert wait_phase(page, "done", "error") == "done", page.inner_text("#message")
        notice = page.inner_text("#notice")
        assert f"{PHOTO.name} is 500{BY}500" in notice and f"{MAX_SIZE}{BY}{MAX_SIZE}" in notice
        assert f"ms for {MAX_SIZE}{BY}{MAX_SIZE} on wasm (SIMD, 2 threads)" in page.inner_text("#status")
        photo = page_image(page, "window.stylenet.state.photo")
        raw = page_image(page, "window.stylenet.state.raw")

        decoded = load_image(PHOTO, MAX_SIZE)[None].numpy()  # Pillow's Lanczos; the canvas resamples otherwise
        assert photo.shape == decoded.shape and np.abs(photo - decoded).mean() < 0.02
        expected = run_onnx_file(fixed_page / "model.onnx", image=photo)
        assert np.abs(raw - expected).max() <= WASM_TOLERANCE

        page.check("#preserve-color")
        page.fill("#strength", "0.4")
        result = page_image(page, "window.stylenet.state.result")
        content, stylized = torch.from_numpy(photo), torch.from_numpy(raw)
        assert np.abs(result - blend(content, preserve_color(content, stylized), 0.4).numpy()).max() <= 1e-5
        assert page.get_attribute("#download", "download") == f"{PHOTO.stem}_stylized.png"
        page.wait_for_selector("#download[href^='blob:']", state="attached")
    finally:
        server.shutdown()


def test_the_any_style_page_reads_a_style_and_blends_two(browser, any_style_page):
    server, url = serve_in_background(any_style_page)
    style_code, stylize = any_style_page / "style_code.onnx", any_style_page / "stylize.onnx"
    try:
        page = open_page(browser, url)
        assert "any style" in page.inner_text("#model-info")
        page.set_input_files("#photo", str(PHOTO))
        assert wait_phase(page, "ready") and "Choose a style image" in page.inner_text("#status")
        page.set_input_files("#style", str(STARRY))
        assert wait_phase(page, "done", "error") == "done", page.inner_text("#message")
        style = page_image(page, "window.stylenet.state.styles[0]")
        size = json.loads((any_style_page / "model.json").read_text())["page"]["style_size"]
        assert np.abs(style - load_image(STARRY, size)[None].numpy()).mean() < 0.02
        code = run_onnx_file(style_code, style=style)
        assert np.abs(page_array(page, "window.stylenet.state.styles[0].code") - code[0]).max() <= WASM_TOLERANCE
        photo, raw = page_image(page, "window.stylenet.state.photo"), page_image(page, "window.stylenet.state.raw")
        assert np.abs(raw - run_onnx_file(stylize, image=photo, code=code)).max() <= WASM_TOLERANCE

        page.set_input_files("#style2", str(CANDY))
        wait_phase(page, "done")
        page.fill("#blend", "0.25")
        wait_phase(page, "done")
        candy = run_onnx_file(style_code, style=page_image(page, "window.stylenet.state.styles[1]"))
        blended = page_array(page, "window.stylenet.state.lastRun.code")
        assert np.abs(blended - (0.75 * code[0] + 0.25 * candy[0])).max() <= WASM_TOLERANCE
        assert np.abs(page_image(page, "window.stylenet.state.raw") - raw).mean() > 1e-4, "the blend changes the output"
    finally:
        server.shutdown()


def test_bad_input_shows_a_message_and_the_page_goes_on(browser, fixed_page, tmp_path):
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("these are notes, not a JPEG\n")
    server, url = serve_in_background(fixed_page)
    try:
        page = open_page(browser, url)
        page.set_input_files("#photo", str(not_an_image))
        assert wait_phase(page, "error") == "error"
        assert page.inner_text("#message") == "notes.jpg is not an image this browser can decode"
        page.set_input_files("#style", str(STARRY))
        wait_phase(page, "error")
        assert "has a fixed style (starry_night.jpg); it takes no style image" in page.inner_text("#message")
        page.set_input_files("#photo", str(PHOTO))  # and it still works
        assert wait_phase(page, "done") == "done" and page.is_hidden("#message")
    finally:
        server.shutdown()

    broken = tmp_path / "broken"
    shutil.copytree(fixed_page, broken)
    (broken / "model.onnx").unlink()
    server, url = serve_in_background(broken)
    try:
        page = open_page(browser, url)
        assert page.evaluate("document.body.dataset.phase") == "error"
        assert page.inner_text("#message") == "the model file model.onnx is missing from this folder (HTTP 404)"
    finally:
        server.shutdown()


class Darken(nn.Module):
    """A one-conv image network, enough to test the writing of the folder."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(images))


def test_a_failed_export_keeps_the_previous_page_and_nothing_else_is_replaced(runtime, tmp_path):
    image = load_image(PHOTO, 40)[None]
    page = export_page(Darken(), tmp_path / "page", image, runtime=runtime)
    assert sorted(p.name for p in page.folder.iterdir()) == [
        "index.html",
        "model.json",
        "model.onnx",
        "ort",
        "stylenet.js",
    ]
    before = (page.folder / "model.onnx").read_bytes()
    with pytest.raises(RuntimeError, match="exceeds the tolerance"):
        export_page(Darken(), page.folder, image, runtime=runtime, tolerance=-1.0)
    assert (page.folder / "model.onnx").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page"], "no partial folder is left behind"

    other = tmp_path / "photos"
    other.mkdir()
    (other / "keep.jpg").write_bytes(b"mine")
    with pytest.raises(ValueError, match="is not a page written by stylenet export"):
        export_page(Darken(), other, image, runtime=runtime)
    assert [p.name for p in other.iterdir()] == ["keep.jpg"]


def test_without_a_local_runtime_the_page_names_the_pinned_cdn(tmp_path):
    page = export_page(Darken(), tmp_path / "page", load_image(PHOTO, 40)[None])
    config = json.loads((page.folder / "model.json").read_text())["page"]
    assert config["runtime"] == ORT_WEB_CDN and f"onnxruntime-web@{ORT_WEB_VERSION}/" in ORT_WEB_CDN
    assert not (page.folder / "ort").exists()


def test_a_runtime_of_another_version_is_refused_in_one_line(tmp_path, capsys):
    package = tmp_path / "onnxruntime-web"
    (package / "dist").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "onnxruntime-web", "version": "1.17.0"}))
    assert main(["export", str(LEGACY_STYLIZER), "--web", str(tmp_path / "page"), "--web-runtime", str(package)]) == 1
    error = capsys.readouterr().err.strip()
    expected = f"{package} holds onnxruntime-web 1.17.0; the page is written for onnxruntime-web {ORT_WEB_VERSION}"
    assert error == f"export failed: {expected}"
    assert not (tmp_path / "page").exists()
    assert main(["serve", str(tmp_path)]) == 1
    assert "is not a page written by stylenet export --web" in capsys.readouterr().err
