"""Write a static web page around an exported network: ``index.html``, its script, the ONNX model(s), ``model.json``.

The page (``stylenet/web/``) runs the models with onnxruntime-web at :data:`ORT_WEB_VERSION`: WebGPU where the
browser has an adapter, else WASM (SIMD, with threads where the page is cross-origin isolated). Its runtime
files are copied from a local ``onnxruntime-web`` package at that version (``npm install
onnxruntime-web@1.31.1``) when one is given, so the folder works offline; otherwise the page loads them from
:data:`ORT_WEB_CDN`. Two kinds of page:

- ``fixed_style``: a single-style network (or a meta network baked for given styles) as ``model.onnx``,
  ``image (B, 3, H, W) -> stylized (B, 3, H, W)``, in [0, 1].
- ``any_style``: a meta network as ``style_code.onnx`` (``style (S, 3, H, W) -> code (S, D)``) and
  ``stylize.onnx`` (``image (B, 3, H, W), code (1, D) -> stylized``); the page blends two styles' codes.

Each ONNX file is checked against the eager network in ONNX Runtime before the folder is put in place. The
folder is built beside its target and renamed over it, so a failed export leaves the previous one whole.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from stylenet.exporters import network_scale, sidecar, write_sidecar
from stylenet.models.meta_transform_net import ArbitraryStyleNet
from stylenet.runtimes import (
    DEFAULT_TOLERANCE,
    CodeStylizeGraph,
    StyleCodeGraph,
    check_against_eager,
    onnx_file_runner,
    onnx_session,
    run_onnx,
    to_onnx,
)

ORT_WEB_VERSION = "1.31.1"
ORT_WEB_CDN = f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{ORT_WEB_VERSION}/dist/"
# the ES module bundle with the WebGPU and WASM backends, and the WASM build it loads
RUNTIME_FILES = ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm")
PAGE_FILES = ("index.html", "stylenet.js")
RUNTIME_FOLDER = "ort"
DEFAULT_MAX_SIZE = 1024  # longest side of the photos the page stylises; larger ones are downscaled


@dataclass(frozen=True)
class WebPage:
    """A folder written by :func:`export_page`: its kind, the ONNX files' max abs differences from eager, and
    where its runtime comes from (the local ``ort/`` folder or the CDN)."""

    folder: Path
    kind: str
    differences: dict[str, float]
    runtime: str


def runtime_dist(package: str | os.PathLike) -> Path:
    """The ``dist/`` folder of a local onnxruntime-web package (its folder or its ``dist/``), checked to be
    :data:`ORT_WEB_VERSION` and to hold :data:`RUNTIME_FILES`; a one-line ``ValueError`` otherwise."""
    package = Path(package)
    root = package.parent if package.name == "dist" else package
    manifest = root / "package.json"
    try:
        info = json.loads(manifest.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{package} is not an onnxruntime-web package: cannot read {manifest} ({error})") from error
    if info.get("name") != "onnxruntime-web" or info.get("version") != ORT_WEB_VERSION:
        found = f"{info.get('name')} {info.get('version')}"
        raise ValueError(f"{package} holds {found}; the page is written for onnxruntime-web {ORT_WEB_VERSION}")
    missing = [name for name in RUNTIME_FILES if not (root / "dist" / name).is_file()]
    if missing:
        raise ValueError(f"{root / 'dist'} lacks {', '.join(missing)}")
    return root / "dist"


def _fixed_style_models(net: nn.Module, stage: Path, check_image: Tensor, tolerance: float) -> dict[str, float]:
    to_onnx(net, stage / "model.onnx")
    return {
        "model.onnx": check_against_eager(
            "model.onnx", net, onnx_file_runner(stage / "model.onnx"), check_image, tolerance
        )
    }


def _any_style_models(model: ArbitraryStyleNet, stage: Path, check_image: Tensor, tolerance: float) -> dict[str, float]:
    code_graph = StyleCodeGraph(model.embedding, model.net).cpu().eval()
    styles = torch.rand(2, 3, 37, 45)  # batch 2: a batch of 1 would be frozen by the export
    to_onnx(code_graph, stage / "style_code.onnx", fold=False, names=("style", "code"), example=styles)
    code_session = onnx_session(stage / "style_code.onnx")
    code = run_onnx(code_session, check_image)  # the check image is the check style too
    example = (torch.rand(2, 3, 67, 93), code)
    names = ("image", "code", "stylized")
    to_onnx(CodeStylizeGraph(model.net).cpu().eval(), stage / "stylize.onnx", fold=False, names=names, example=example)
    stylize_session = onnx_session(stage / "stylize.onnx")

    def stylize(images: Tensor) -> Tensor:
        return torch.from_numpy(stylize_session.run(None, {"image": images.numpy(), "code": code.numpy()})[0])

    def style_code(styles: Tensor) -> Tensor:
        return run_onnx(code_session, styles)

    return {
        "style_code.onnx": check_against_eager("style_code.onnx", code_graph, style_code, check_image, tolerance),
        "stylize.onnx": check_against_eager("stylize.onnx", model.bake(code), stylize, check_image, tolerance),
    }


def _replace_folder(stage: Path, folder: Path) -> None:
    """Put the finished ``stage`` at ``folder``, replacing an earlier page there (and nothing else)."""
    if folder.exists():
        if not (folder / "model.json").is_file() or not (folder / "index.html").is_file():
            raise ValueError(f"{folder} exists and is not a page written by stylenet export; choose another folder")
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        folder.rename(old)
        stage.rename(folder)
        shutil.rmtree(old)
    else:
        stage.rename(folder)


def export_page(
    net: nn.Module,
    folder: str | os.PathLike,
    check_image: Tensor,
    metadata: dict[str, Any] | None = None,
    runtime: str | os.PathLike | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    tolerance: float = DEFAULT_TOLERANCE,
) -> WebPage:
    """Write the web page of ``net`` to ``folder``: an any-style page for an :class:`ArbitraryStyleNet`, else a
    fixed-style page for an image network ``(B, 3, H, W) -> (B, 3, H, W)``.

    ``check_image`` is a real ``(1, 3, H, W)`` image in [0, 1] (also the style image of an any-style check);
    ``runtime`` a local onnxruntime-web package copied into ``folder/ort`` (default: the page loads it from
    the CDN); ``max_size`` the longest side the page stylises. Raises
    :class:`~stylenet.runtimes.ExportMismatchError` if ONNX Runtime differs from eager by more than ``tolerance``.
    """
    folder = Path(folder)
    dist = runtime_dist(runtime) if runtime is not None else None
    any_style = isinstance(net, ArbitraryStyleNet)
    if not any_style and network_scale(net) != 1:
        raise ValueError("the web page stylises images; this network changes their size (export it without --web)")
    stage = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        build = _any_style_models if any_style else _fixed_style_models
        differences = build(net.eval(), stage, check_image, tolerance)
        if dist is not None:
            (stage / RUNTIME_FOLDER).mkdir()
            for name in RUNTIME_FILES:
                shutil.copyfile(dist / name, stage / RUNTIME_FOLDER / name)
        page = resources.files("stylenet") / "web"
        for name in PAGE_FILES:
            (stage / name).write_bytes((page / name).read_bytes())
        kind = "any_style" if any_style else "fixed_style"
        base = f"{RUNTIME_FOLDER}/" if dist is not None else ORT_WEB_CDN
        description = sidecar(metadata or {}, {name[: -len(".onnx")]: name for name in differences}, differences)
        description["page"] = {
            "kind": kind,
            "max_size": max_size,
            "runtime": base,
            "onnxruntime_web": ORT_WEB_VERSION,
            "style_size": net.style_size if any_style else None,
        }
        write_sidecar(stage / "model.json", description)
        _replace_folder(stage, folder)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return WebPage(folder, kind, differences, base)
