"""Milliseconds per image of the exported web page in headless Chromium (onnxruntime-web, WASM) beside ONNX
Runtime's native CPU session on the same model and the same input, in one process.

    npm ci --prefix web && python bench/web_page.py                 # the Johnson net of conf/model/johnson.yaml
    python bench/web_page.py --checkpoint run/last.ckpt --size 512 --repeats 5

The page is written by :func:`stylenet.web_export.export_page` and served by :mod:`stylenet.web_server`
(cross-origin isolated, so WASM runs on ``min(4, cores)`` threads); the photo is a real one cropped to
``S x S``. Each side has one warm-up run, then ``--repeats`` runs, and reports the median of the network's
run alone (``session.run`` in both). Native ONNX Runtime runs on as many threads as the page's WASM. A
randomly initialised net has the same compute as a trained one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from stylenet.checkpoint import load as load_checkpoint
from stylenet.config import shared_dir
from stylenet.imageio import load_image, save_image
from stylenet.runtimes import onnx_session
from stylenet.web_export import export_page
from stylenet.web_server import serve_in_background

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_helpers import ORT_WEB, chromium, open_page, page_image, wait_phase  # noqa: E402 (after the path)


def photo_crop(size: int, folder: Path) -> Path:
    """A real photo resized and centre-cropped to ``size x size``, saved as PNG in ``folder``."""
    image = load_image(shared_dir() / "images/content/neural_style/tubingen.jpg")
    h, w = image.shape[-2:]
    short = min(h, w)
    square = image[:, (h - short) // 2 : (h + short) // 2, (w - short) // 2 : (w + short) // 2]
    square = torch.nn.functional.interpolate(square[None], size=(size, size), mode="area")[0]
    return save_image(square, folder / f"photo_{size}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="single-style checkpoint (default: conf/model/johnson.yaml)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    if args.checkpoint:
        net = load_checkpoint(args.checkpoint, kind="stylizer").network
    else:
        net = instantiate(OmegaConf.load(ROOT / "conf/model/johnson.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = photo_crop(args.size, folder)
        check = load_image(photo, 67)[None]
        page_folder = export_page(net.eval(), folder / "page", check, runtime=ORT_WEB, max_size=args.size).folder
        server, url = serve_in_background(page_folder)
        try:
            with chromium() as browser:
                page = open_page(browser, url)
                page.set_input_files("#photo", str(photo))
                assert wait_phase(page, "done", "error") == "done", page.inner_text("#message")  # the warm-up
                backend = page.evaluate("window.stylenet.state.backend")
                threads = page.evaluate("navigator.hardwareConcurrency")
                web = [page.evaluate("window.stylenet.stylize()") for _ in range(args.repeats)]
                image = page_image(page, "window.stylenet.state.photo")
        finally:
            server.shutdown()
        session = onnx_session(page_folder / "model.onnx", threads=min(4, threads))
        feeds = {"image": np.ascontiguousarray(image)}
        session.run(None, feeds)
        native = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            session.run(None, feeds)
            native.append(1000 * (time.perf_counter() - start))

    web_ms, native_ms = statistics.median(web), statistics.median(native)
    print(f"{args.size}x{args.size}, median of {args.repeats} runs after a warm-up")
    print(f"{'runtime':<62} {'ms/image':>9} {'ratio':>6}")
    print(f"{'ONNX Runtime (native CPU, ' + str(min(4, threads)) + ' threads)':<62} {native_ms:9.0f} {1.0:6.2f}")
    print(f"{'onnxruntime-web in headless Chromium, ' + backend:<62} {web_ms:9.0f} {web_ms / native_ms:6.2f}")


if __name__ == "__main__":
    main()
