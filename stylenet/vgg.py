"""Frozen ImageNet VGG16/VGG19 feature extractor with named taps.

Layers are named the way the style-transfer literature names them: ``conv3_2``, ``relu3_2``,
``pool3``. The encoder takes RGB in [0, 1], normalises it once with the ImageNet statistics and runs
only as deep as the deepest requested tap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import Tensor, nn

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ARCHITECTURES = {"vgg16": torchvision.models.vgg16, "vgg19": torchvision.models.vgg19}
WEIGHT_ENUMS = {"vgg16": torchvision.models.VGG16_Weights, "vgg19": torchvision.models.VGG19_Weights}
LAYER_CONFIGS = {"vgg16": "D", "vgg19": "E"}  # torchvision's names for the two layer lists


def layer_names(features: nn.Sequential) -> list[str]:
    """Names ``conv1_1, relu1_1, ..., pool1, conv2_1, ...`` for the modules of a VGG ``features``."""
    names, block, index = [], 1, 0
    for module in features:
        if isinstance(module, nn.Conv2d):
            index += 1
            names.append(f"conv{block}_{index}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{block}_{index}")
        elif isinstance(module, nn.MaxPool2d):
            names.append(f"pool{block}")
            block, index = block + 1, 0
        else:
            raise TypeError(f"unexpected layer in VGG features: {module!r}")
    return names


def tap_channels(arch: str, tap: str) -> int:
    """Channels of ``tap`` (``conv``/``relu``/``pool`` name) in VGG ``arch``, from torchvision's layer lists."""
    if arch not in LAYER_CONFIGS:
        raise ValueError(f"unknown VGG arch {arch!r}; choose one of {sorted(LAYER_CONFIGS)}")
    block, index, channels = 1, 0, 3
    for entry in torchvision.models.vgg.cfgs[LAYER_CONFIGS[arch]]:
        if entry == "M":
            if tap == f"pool{block}":
                return channels
            block, index = block + 1, 0
            continue
        index, channels = index + 1, int(entry)
        if tap in (f"conv{block}_{index}", f"relu{block}_{index}"):
            return channels
    raise KeyError(f"unknown {arch} tap {tap!r}")


@dataclass(frozen=True)
class PoolGeometry:
    """Kernel, stride and padding of a pooling that maps one tap onto another's grid."""

    kernel: int
    stride: int
    padding: int


def _pair(value: int | tuple[int, ...]) -> int:
    if isinstance(value, tuple):
        if len(set(value)) != 1:
            raise ValueError(f"only square kernels are supported, got {value}")
        return value[0]
    return value


def receptive_field(layers: Sequence[nn.Module]) -> PoolGeometry:
    """Receptive field of one output unit of ``layers`` measured on their input grid.

    Standard receptive-field arithmetic: each conv or pool of kernel ``k``, stride ``s`` and padding
    ``p`` grows the field by ``(k - 1) * jump``, moves its left edge by ``-p * jump`` and multiplies
    the jump by ``s``. Pooling the input with the returned geometry gives one cell per output unit,
    each cell covering exactly that unit's receptive field.
    """
    size, jump, start = 1, 1, 0
    for layer in layers:
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p = _pair(layer.kernel_size), _pair(layer.stride), _pair(layer.padding)
            dilation = _pair(getattr(layer, "dilation", 1))
            size += (dilation * (k - 1)) * jump
            start -= p * jump
            jump *= s
    return PoolGeometry(kernel=size, stride=jump, padding=-start)


def _features_only(state: object, source: str) -> dict[str, Tensor]:
    """The ``features`` part of a features-only or full torchvision VGG state dict, floats as float32."""
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{source} does not hold a state dict")
    if any(key.startswith("features.") for key in state):
        state = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def _features_state_dict(path: Path) -> dict[str, Tensor]:
    """Read a features-only or full torchvision VGG state dict from a file."""
    if not path.is_file():
        raise FileNotFoundError(f"VGG weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"cannot read VGG weights from {path}: {error}") from error
    return _features_only(state, str(path))


def _enum_state_dict(arch: str, name: str) -> dict[str, Tensor]:
    """torchvision's weights for ``arch`` (``WEIGHT_ENUMS[arch][name]``) through its own download and cache
    (``$TORCH_HOME/hub/checkpoints``, with a progress bar the first time); only ``features`` is kept."""
    weights = WEIGHT_ENUMS[arch][name]
    state = weights.get_state_dict(progress=True, weights_only=True)
    return _features_only(state, f"torchvision {weights}")


def is_weights_enum(arch: str, weights: object) -> bool:
    """Whether ``weights`` names a member of torchvision's weights enum for ``arch`` (or ``DEFAULT``)."""
    return isinstance(weights, str) and (weights == "DEFAULT" or weights in WEIGHT_ENUMS[arch].__members__)


def resolve_weights(arch: str, weights: str | Path | None, fallback: str | None = None) -> str | Path | None:
    """``weights``, or the ``fallback`` weights-enum name when ``weights`` names a file that does not exist (a
    machine without the local copy: torchvision then downloads it once into torch's cache). A file always wins."""
    if fallback is None or weights is None or is_weights_enum(arch, weights) or Path(weights).expanduser().is_file():
        return weights
    if not is_weights_enum(arch, fallback):
        raise ValueError(f"unknown {arch} weights-enum fallback {fallback!r}")
    log.info("no VGG weights file at %s: using torchvision's %s %s (downloaded once)", weights, arch, fallback)
    return fallback


def build_features(arch: str, weights: str | Path | None) -> nn.Sequential:
    """VGG ``features`` for ``arch`` with ``weights``: a weights-enum name, a file, or None (random)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown VGG architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    # features only: building the whole model would also initialise its 120M-parameter classifier
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs[LAYER_CONFIGS[arch]])
    if weights is None:
        return features
    if is_weights_enum(arch, weights):
        state, source = _enum_state_dict(arch, str(weights)), f"torchvision {arch} {weights}"
    else:
        source = str(Path(weights).expanduser())
        state = _features_state_dict(Path(source))
    try:
        features.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(f"{source} does not hold {arch} features weights: {error}") from error
    return features


class VGGEncoder(nn.Module):
    """Frozen VGG ``features`` returning a dict of named activations.

    Args:
        arch: ``"vgg16"`` or ``"vgg19"``.
        weights: a torchvision weights-enum member name (``"IMAGENET1K_V1"``, ``"DEFAULT"``; needs
            internet once), a path to a features-only or full VGG state dict, or None for random
            weights (tests only).
        fallback_weights: a weights-enum name used when ``weights`` is a file that does not exist.
        taps: default taps returned by :meth:`forward`.
        style_weight_scale: the factor loss configs multiply the presets' style weights by on these
            weights (presets are tuned on torchvision's VGG16: 1.0; see ``conf/backbone/vgg19.yaml``).

    Input: RGB in [0, 1], ``(B, 3, H, W)``. Output: ``{tap: (B, C_tap, H_tap, W_tap)}``.
    """

    def __init__(
        self,
        arch: str = "vgg16",
        weights: str | Path | None = "DEFAULT",
        taps: Iterable[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
        style_weight_scale: float = 1.0,
        fallback_weights: str | None = None,
    ) -> None:
        super().__init__()
        self.arch = arch
        weights = resolve_weights(arch, weights, fallback_weights)
        self.weights = None if weights is None else str(weights)  # what checkpoints record to rebuild it
        self.style_weight_scale = float(style_weight_scale)
        features = build_features(arch, weights)
        for module in features:
            if isinstance(module, nn.ReLU):
                module.inplace = True  # one buffer less per conv; forward copies conv taps before their ReLU
        self.names = layer_names(features)
        self.layers = features
        self.taps = self.check_taps(taps)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGEncoder:
        return super().train(False)

    def index(self, tap: str) -> int:
        """Position of ``tap`` in the layer list; raises a ``KeyError`` naming the valid taps."""
        try:
            return self.names.index(tap)
        except ValueError:
            raise KeyError(f"unknown {self.arch} tap {tap!r}; valid taps: {', '.join(self.names)}") from None

    def check_taps(self, taps: Iterable[str]) -> tuple[str, ...]:
        taps = tuple(taps)
        for tap in taps:
            self.index(tap)
        return taps

    def pooling(self, shallow: str, deep: str) -> PoolGeometry:
        """Pooling that aligns each cell of ``shallow`` with the receptive field of one ``deep`` unit."""
        i, j = self.index(shallow), self.index(deep)
        if i >= j:
            raise ValueError(f"cross-layer pair ({shallow}, {deep}): {shallow} must come before {deep}")
        return receptive_field(self.layers[i + 1 : j + 1])

    def normalize(self, images: Tensor) -> Tensor:
        return (images - self.mean) / self.std

    def forward(self, images: Tensor, taps: Iterable[str] | None = None) -> dict[str, Tensor]:
        wanted = self.taps if taps is None else self.check_taps(taps)
        if not wanted:
            return {}
        last = max(self.index(tap) for tap in wanted)
        out, x = {}, self.normalize(images)
        for name, layer in zip(self.names[: last + 1], self.layers[: last + 1], strict=True):
            x = layer(x)
            if name in wanted:
                out[name] = x.clone() if isinstance(layer, nn.Conv2d) else x  # the in-place ReLU would overwrite it
        return out
