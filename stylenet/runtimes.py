"""CPU runtimes for image networks: ONNX conversion, ONNX Runtime and OpenVINO sessions, the precision
choice, and the checks of a runtime's outputs against the eager network.

Every function takes any ``nn.Module`` mapping RGB ``(B, 3, H, W)`` in [0, 1] to the same shape. The
ONNX graphs converted here keep the batch, height and width dynamic. :mod:`stylenet.exporters` writes
them as files for users; :mod:`stylenet.inference` runs them.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort
import openvino as ov
import torch
from torch import Tensor, nn

from stylenet import __version__
from stylenet.models.subpixel import fold_upsampling

if TYPE_CHECKING:
    from stylenet.models.meta_transform_net import ArbitraryStyleNet, MetaTransformNet, StyleEmbedding

INPUT_NAME = "image"
OUTPUT_NAME = "stylized"
DEFAULT_TOLERANCE = 1e-4  # max abs difference from eager on [0, 1] outputs; 8-bit images quantise at 4e-3
# bf16 moves a trained net's [0, 1] outputs by 0.003-0.006 on average, and by up to ~0.2 at single pixels, on
# a real photo (bench/inference.py), so bf16 runs are checked on the mean abs difference
BF16_MEAN_TOLERANCE = 0.02
PRECISIONS = ("auto", "fp32", "bf16")
RUNTIMES = ("onnxruntime", "openvino")


class ExportMismatchError(RuntimeError):
    """A converted model's output differs from the eager network's by more than the tolerance."""


class ModelFileError(ValueError):
    """A model file that its runtime cannot read (corrupt, truncated, or not a model)."""


def to_onnx(
    net: nn.Module,
    path: str | os.PathLike,
    opset: int = 20,
    fold: bool = True,
    names: tuple[str, ...] = (INPUT_NAME, OUTPUT_NAME),
    example: Tensor | tuple[Tensor, ...] | None = None,
) -> Path:
    """Convert ``net`` (eval mode) to an ONNX file at ``path`` with dynamic batch, height and width.

    Uses the public ``torch.onnx.export`` (the ``torch.export``-based exporter); instance norms become
    ONNX ``InstanceNormalization`` nodes. ``names`` are the input names then the output name: by default
    ``"image"`` ``(B, 3, H, W)`` and, for a transform net, ``"stylized"`` ``(B, 3, H, W)``. ``example`` is the
    input traced, or a tuple of them for a net of several inputs (default: images of sizes that are not
    multiples of 4, so no padding branch is frozen). An input's first dimension stays dynamic where its
    example has more than one row, and a ``(B, C, H, W)`` input's height and width stay dynamic; the first
    input's dynamic dimensions are named ``batch``, ``height`` and ``width``, the others' prefixed by their name.
    With ``fold``, upsample + 3x3 convs are exported as sub-pixel convs and the 9x9 output conv runs on
    phase planes (:func:`~stylenet.models.subpixel.fold_upsampling`: the same function; in ONNX Runtime
    ~20% faster with ~35% less peak memory at 1024², see ``bench/inference.py``).
    """
    if fold:
        net = fold_upsampling(net)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(2, 3, 67, 93) if example is None else example
    examples = example if isinstance(example, tuple) else (example,)
    if len(names) != len(examples) + 1:
        raise ValueError(f"{len(examples)} example inputs need {len(examples) + 1} names (inputs, output), got {names}")
    logging.getLogger("torch.onnx").setLevel(logging.WARNING)
    torch.onnx.export(
        net.eval(),
        examples,
        str(path),
        input_names=list(names[:-1]),
        output_names=[names[-1]],
        dynamic_shapes=tuple(
            _dynamic_dims(x, f"{name}_" if i else "")
            for i, (x, name) in enumerate(zip(examples, names[:-1], strict=True))
        ),
        opset_version=opset,
        dynamo=True,
        external_data=False,
        verbose=False,
    )
    return path


def _dynamic_dims(example: Tensor, prefix: str) -> dict[int, Any]:
    """The dynamic dimensions of one example input of :func:`to_onnx`, named with ``prefix``."""
    dims = {0: torch.export.Dim(f"{prefix}batch")} if example.shape[0] > 1 else {}
    if example.ndim == 4:
        dims |= {2: torch.export.Dim(f"{prefix}height"), 3: torch.export.Dim(f"{prefix}width")}
    return dims


def onnx_session(path: str | os.PathLike, threads: int | None = None, spin: bool = True) -> ort.InferenceSession:
    """ONNX Runtime CPU session for ``path`` with every graph optimisation enabled.

    Without ``spin`` its threads sleep as soon as a run ends instead of spinning for the next one: slower
    for back-to-back runs of one session, faster when other sessions or PyTorch run in between. Raises
    :class:`ModelFileError` naming ``path`` for a file ONNX Runtime cannot read.
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own exception types for unreadable graphs
        raise ModelFileError(f"{path} is not a readable ONNX model ({first_line(error)})") from error


def first_line(error: BaseException) -> str:
    """The first non-empty line of ``error``'s message (runtimes print many-line reports)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(error).__name__


def run_onnx(session: ort.InferenceSession, images: Tensor) -> Tensor:
    """Run a session on ``(B, 3, H, W)`` float images; returns its (first) output."""
    array = np.ascontiguousarray(images.detach().cpu().float().numpy())
    output = session.run(None, {session.get_inputs()[0].name: array})[0]
    return torch.from_numpy(output)


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), as OpenVINO reports it (asked once)."""
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def resolve_precision(precision: str) -> str:
    """``"auto"`` -> ``"bf16"`` where the CPU computes it natively, else ``"fp32"``; checks explicit choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    if precision == "bf16" and not native_bf16():
        raise ValueError("bf16 needs a CPU that computes it natively (AVX512-BF16 or AMX); use --precision fp32")
    return precision


def openvino_runner(
    path: str | os.PathLike, precision: str = "fp32", threads: int | None = None
) -> Callable[[Tensor], Tensor]:
    """An ONNX model compiled by OpenVINO for the CPU at ``precision`` (``fp32`` or ``bf16``), as a function
    ``(B, 3, H, W)`` float images -> its first output. Height and width stay dynamic."""
    config: dict[str, Any] = {
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": {"fp32": "f32", "bf16": "bf16"}[resolve_precision(precision)],
    }
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(str(path), "CPU", config)
    request = compiled.create_infer_request()

    def run(images: Tensor) -> Tensor:
        array = np.ascontiguousarray(images.detach().cpu().float().numpy())
        return torch.from_numpy(request.infer({0: array})[compiled.output(0)].copy())

    return run


def abs_difference(net: nn.Module, converted: Callable[[Tensor], Tensor], image: Tensor) -> Tensor:
    """``|converted(image) - net(image)|`` for the eager ``net`` on ``(B, 3, H, W)``."""
    with torch.inference_mode():
        expected = net.eval()(image)
        found = converted(image)
    if found.shape != expected.shape:
        raise ExportMismatchError(f"converted output shape {tuple(found.shape)} != eager {tuple(expected.shape)}")
    return (found.float().cpu() - expected.float().cpu()).abs()


def max_abs_difference(net: nn.Module, converted: Callable[[Tensor], Tensor], image: Tensor) -> float:
    """Max abs difference between ``converted(image)`` and the eager ``net(image)`` on ``(B, 3, H, W)``."""
    return float(abs_difference(net, converted, image).max())


def check_against_eager(
    name: str,
    net: nn.Module,
    converted: Callable[[Tensor], Tensor],
    image: Tensor,
    tolerance: float = DEFAULT_TOLERANCE,
    statistic: str = "max",
) -> float:
    """Raise :class:`ExportMismatchError` if ``converted`` differs from ``net`` on ``image`` by more than
    ``tolerance``; compares the ``"max"`` (or ``"mean"``) abs difference, and returns it."""
    differences = abs_difference(net, converted, image)
    difference = float(differences.max() if statistic == "max" else differences.mean())
    if not difference <= tolerance:  # also catches NaN
        raise ExportMismatchError(
            f"{name}: {statistic} abs difference from eager {difference:.3g} exceeds the tolerance {tolerance:.3g} "
            f"on a {tuple(image.shape)} image"
        )
    return difference


def default_cache_dir() -> Path:
    """``$STYLENET_CACHE``, else ``~/.cache/stylenet``."""
    return Path(os.environ.get("STYLENET_CACHE", Path.home() / ".cache" / "stylenet"))


def cached_onnx(source: str, key: str, net: nn.Module, cache_dir: Path | None = None) -> Path:
    """ONNX conversion of ``net`` (built from ``source``), written once per ``key`` and versions under
    ``cache_dir`` (default :func:`default_cache_dir`). A fresh conversion is checked against eager first."""
    key = f"{key[:20]}-stylenet{__version__}-torch{torch.__version__.split('+')[0]}"
    path = (cache_dir or default_cache_dir()) / f"{key}.onnx"
    if path.is_file():
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        to_onnx(net, tmp)
        session = onnx_session(tmp)
        check_against_eager(f"ONNX export of {source}", net, lambda x: run_onnx(session, x), torch.rand(1, 3, 67, 93))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def runtime_runner(
    source: str, key: str, net: nn.Module, runtime: str = "auto", precision: str = "auto", cache_dir: Path | None = None
) -> tuple[Callable[[Tensor], Tensor], str, str]:
    """The eager ``net`` converted once (cached by ``key``) and run on the CPU by ``runtime``, checked against
    eager; returns ``(run, runtime, precision)``.

    ``runtime`` is one of :data:`RUNTIMES` or ``auto``: OpenVINO where ``precision`` resolves to bf16 (a CPU
    with native bf16; outputs checked on the mean difference), else ONNX Runtime, which computes fp32.
    """
    if runtime not in ("auto", *RUNTIMES):
        raise ValueError(f"unknown runtime {runtime!r}; choose one of {RUNTIMES}")
    resolved = resolve_precision(precision) if runtime != "onnxruntime" else "fp32"
    if runtime == "auto":
        runtime = "openvino" if resolved == "bf16" else "onnxruntime"
    onnx_path = cached_onnx(source, key, net.cpu(), cache_dir)
    if runtime == "onnxruntime":
        session = onnx_session(onnx_path)
        return (lambda images: run_onnx(session, images)), runtime, "fp32"
    run = openvino_runner(onnx_path, resolved)
    check = {"bf16": (BF16_MEAN_TOLERANCE, "mean"), "fp32": (DEFAULT_TOLERANCE, "max")}[resolved]
    check_against_eager(f"OpenVINO {resolved} run of {source}", net, run, torch.rand(1, 3, 67, 93), *check)
    return run, runtime, resolved


def onnx_file_runner(path: Path) -> Callable[[Tensor], Tensor]:
    """An ONNX model file run by ONNX Runtime on the CPU; :class:`ModelFileError` if it cannot be read."""
    session = onnx_session(path)
    return lambda images: run_onnx(session, images)


def torchscript_module(path: Path, device: torch.device) -> torch.jit.ScriptModule:
    """A TorchScript file loaded on ``device`` in eval mode; :class:`ModelFileError` if it cannot be read."""
    try:
        return torch.jit.load(str(path), map_location=device).eval()
    except Exception as error:  # TorchScript raises RuntimeError, pickle and zip errors for unreadable files
        raise ModelFileError(f"{path} is not a readable TorchScript model ({first_line(error)})") from error


class StyleCodeGraph(nn.Module):
    """Style images ``(S, 3, H, W)`` -> hidden codes ``(S, D)``: the embedding and the hidden layer, for export."""

    def __init__(self, embedding: StyleEmbedding, net: MetaTransformNet) -> None:
        super().__init__()
        self.embedding, self.net = embedding, net

    def forward(self, styles: Tensor) -> Tensor:
        return self.net.code(self.embedding(styles))


class CodeStylizeGraph(nn.Module):
    """Images ``(B, 3, H, W)`` and one hidden code ``(1, D)`` -> stylised images: the heads, the gain cap and the
    template net with the generated weights, for export (a style switch then costs only :class:`StyleCodeGraph`)."""

    def __init__(self, net: MetaTransformNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: Tensor, code: Tensor) -> Tensor:
        return self.net.stylize(images, self.net.generate(code))


class _Weights(nn.Module):
    """Hidden codes ``(S, D)`` -> every generated parameter, flattened and concatenated ``(S, N)``, for export."""

    def __init__(self, net: MetaTransformNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, code: Tensor) -> Tensor:
        return torch.cat([value.flatten(1) for value in self.net.generate(code).values()], dim=1)


class OnnxStyleSwitch:
    """A style switch in ONNX Runtime on a CPU: style image -> hidden code, and hidden code -> generated weights.

    Two conversions, written to ``folder`` and checked against eager: ``style_code.onnx`` (resize, VGG,
    statistics and hidden layer; dynamic height and width) and ``weights.onnx`` (the heads and the gain
    cap). No PyTorch op runs between them, and the sessions' threads sleep as soon as a run ends, so no
    idle thread of one session (or of PyTorch) holds the cores while the other works; ``bench/metanet.py``
    times a switch both ways.
    """

    def __init__(
        self, embedding: StyleEmbedding, net: MetaTransformNet, folder: str | Path, threads: int | None = None
    ) -> None:
        embedding, net = copy.deepcopy(embedding).cpu().eval(), copy.deepcopy(net).cpu().eval()
        self.shapes = {name: net.shapes[name] for names in net.generated for name in names}
        folder = Path(folder)
        code, weights = StyleCodeGraph(embedding, net), _Weights(net)
        with torch.no_grad():
            codes = code(torch.rand(2, 3, 37, 45))  # batch 2: a batch of 1 would be frozen by the export
        to_onnx(code, folder / "style_code.onnx", fold=False, names=("style", "code"))
        to_onnx(weights, folder / "weights.onnx", fold=False, names=("code", "weights"), example=codes)
        self.code_session = onnx_session(folder / "style_code.onnx", threads, spin=False)
        self.weights_session = onnx_session(folder / "weights.onnx", threads, spin=False)
        check_against_eager("ONNX style code", code, self.code, torch.rand(1, 3, 37, 45))
        check_against_eager("ONNX generated weights", weights, self._flat_weights, codes)

    def code(self, styles: Tensor) -> Tensor:
        """Style images ``(S, 3, H, W)`` of one size -> hidden codes ``(S, D)`` on CPU."""
        return run_onnx(self.code_session, styles)

    def _flat_weights(self, code: Tensor) -> Tensor:
        return run_onnx(self.weights_session, code)

    def generate(self, code: Tensor) -> dict[str, Tensor]:
        """Hidden codes ``(S, D)`` -> ``{parameter name: (S, *shape)}``, as ``MetaTransformNet.generate``."""
        flat = self._flat_weights(code).to(code.device)
        values = flat.split([shape.numel() for shape in self.shapes.values()], dim=1)
        return {name: v.reshape(-1, *shape) for (name, shape), v in zip(self.shapes.items(), values, strict=True)}


def switch_with_onnxruntime(model: ArbitraryStyleNet, folder: str | Path, threads: int | None = None) -> None:
    """Have ``model`` compute style codes and generated weights in ONNX Runtime from here on (conversions
    written to ``folder``). On a CPU this halves the time of a style switch (``bench/metanet.py``)."""
    model.switch = OnnxStyleSwitch(model.embedding, model.net, folder, threads)
