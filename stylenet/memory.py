"""The memory budget of a stylise run: the peak an untiled run would add, and the tiles that fit a budget.

An untiled run's peak resident memory grows linearly with the pixels it stylises at once (``B x H x W``), by a
cost per pixel that depends on the runtime and its precision and grows with the width of the network's
full-resolution layers (the transform net's ``channels``). Measured on a 2-core x86 CPU with native bf16 and
24 GiB (where the default path is OpenVINO bf16): peak RSS of ``python -m stylenet.cli stylize`` in a
subprocess (``os.wait4``) on a real photo upscaled to 2400x1600 and 3600x2400, the slope between the two, for
transform nets of 5 residual blocks:

    bytes per pixel       8 ch   16 ch   32 ch   fit
    openvino bf16          166     228     374    93 +  8.7 x channels
    openvino fp32          250     416     727    95 + 19.8 x channels
    onnxruntime fp32       158     282     544    27 + 16.1 x channels
    eager                  251     403     767    69 + 21.7 x channels
    torchscript                            664    (eager's fit covers it)

:data:`BYTES_PER_PIXEL` rounds the fits up. A tiled run (:func:`stylenet.tiling.stylize_tiled`, eager) holds
the whole image's buffers (decoded image, input, the blended output and its weights, the written copy:
:data:`TILED_BYTES_PER_PIXEL`) beside one tile, or the instance-norm statistics pass at longest side
``stats_size``, at a time. The process's own memory (Python, PyTorch, the runtime and the network, about
1 GB) is in neither: a budget is what the images may add. On CUDA the eager cost stands for device memory.
"""

from __future__ import annotations

import math
from dataclasses import replace

import psutil
import torch
from torch import nn

from stylenet.inference import Model, StyleOptions

GB = 1e9
# (runtime, precision) -> (bytes per pixel, more bytes per pixel and channel of the network's first layer)
BYTES_PER_PIXEL = {
    ("openvino", "bf16"): (100.0, 9.0),
    ("openvino", "fp32"): (100.0, 20.0),
    ("onnxruntime", "fp32"): (30.0, 16.5),
    ("eager", "fp32"): (75.0, 22.0),
    ("torchscript", "fp32"): (75.0, 22.0),
}
# tiled: peak RSS 2.40 GB at 6000x4000 and 3.99 GB at 8660x5773 (bench/memory.py --memory-budget 2, 16 channels,
# 384 and 256 px tiles): 61 bytes per pixel between the two, rounded up
TILED_BYTES_PER_PIXEL = 70.0
DEFAULT_CHANNELS = 32  # networks that do not say (ONNX and TorchScript files) are taken as the paper's width
MIN_TILE = 256


def default_budget(device: str | torch.device = "cpu") -> float:
    """Half the memory available now, in bytes: the host's, or a CUDA device's free memory."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0] / 2
    return psutil.virtual_memory().available / 2


def network_channels(net: nn.Module | None) -> int:
    """The width of a network's full-resolution layers (``builder_args["channels"]``), else :data:`DEFAULT_CHANNELS`."""
    return getattr(net, "builder_args", {}).get("channels", DEFAULT_CHANNELS)


def pixel_cost(runtime: str, precision: str, net: nn.Module | None) -> float:
    """Peak bytes per pixel of an untiled run of ``net`` on ``runtime`` at ``precision``."""
    fixed, per_channel = BYTES_PER_PIXEL[runtime, precision]
    return fixed + per_channel * network_channels(net)


def untiled_bytes(shape: torch.Size | tuple[int, ...], model: Model) -> float:
    """The peak memory an untiled run of ``model`` adds for images ``(B, 3, H, W)``."""
    batch, _, height, width = shape
    return batch * height * width * pixel_cost(model.backend, model.precision, model.net)


def tile_for_budget(height: int, width: int, net: nn.Module, budget: float, overlap: int) -> int:
    """The largest tile side (a multiple of 64, at least :data:`MIN_TILE` and twice ``overlap``) whose eager run
    fits in ``budget`` bytes beside the buffers of an ``height x width`` image."""
    room = max(budget - height * width * TILED_BYTES_PER_PIXEL, 0.0)
    side = int(math.sqrt(room / pixel_cost("eager", "fp32", net))) // 64 * 64
    return max(side, MIN_TILE, 2 * overlap)


def plan_tiling(
    options: StyleOptions, shape: torch.Size | tuple[int, ...], model: Model, budget: float, name: str
) -> tuple[StyleOptions, str | None]:
    """``options`` for stylising images ``(B, 3, H, W)`` (``name``) with ``model`` in ``budget`` bytes: tiled,
    with a one-line notice, when an untiled run would need more; as they are when they tile already.

    Raises ``ValueError`` when the run needs tiles that ``model`` cannot run (no eager network).
    """
    needed = untiled_bytes(shape, model)
    if options.tile is not None or needed <= budget:
        return options, None
    height, width = shape[-2:]
    over = f"{name}: {width}x{height} needs ~{needed / GB:.2f} GB untiled, over the {budget / GB:.2f} GB memory budget"
    if model.net is None:
        raise ValueError(f"{over}; tiling needs a checkpoint, not a {model.backend} model")
    tile = tile_for_budget(height, width, model.net, budget, options.overlap)
    return replace(options, tile=tile), f"{over}: stylising it in {tile} px tiles"
