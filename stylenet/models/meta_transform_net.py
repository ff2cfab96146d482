"""Meta network of Shen et al. (2017): a style image's VGG statistics -> the weights of a transform net.

A :class:`StyleEmbedding` summarises a style image as the per-channel means and standard deviations of
its VGG features (VGG16 relu1_2, relu2_2, relu3_3, relu4_3: 2 x (64 + 128 + 256 + 512) = 1,920 values).
A :class:`MetaTransformNet` maps that vector through one hidden layer, ``group_width`` units per
generated conv, and one linear head per conv to the conv's weight and bias and to the scale and shift
of the instance norm that follows it. Instance norm cancels a conv's bias and the overall scale of its
weight, so without the norm's affine a style could only steer the net through the directions of its
weights; with it, the head sets each channel's output statistics, which is what a style is made of
(the conditional instance norm of Dumoulin et al. 2017 and Ghiasi et al. 2017, here per generated
conv). The generated convs are those of a :class:`~stylenet.models.TransformNet` except the first and
last 9x9 convs and grouped convs, which stay ordinary trained parameters with their norms.
Generated weights only ever exist as activations passed to ``torch.func.functional_call``; the
template net holds ``None`` in their place, so ``state_dict()``, ``.to()`` and DDP see exactly the
trained parameters.

Each head's bias starts at its layer's ordinary initial parameters, so an untrained meta network runs
the template's initial net; each head's weight acts on the code divided by ``group_width`` (an equalised
learning rate) so that Adam moves generated weights about as fast as it moves ordinary ones. The
embedding is layer-normalised before the hidden layer.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, vmap

from stylenet.losses.meanstd import mean_std
from stylenet.models.registry import register_model
from stylenet.models.transform_net import TransformNet
from stylenet.vgg import VGGEncoder

JOHNSON_TAPS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


class StyleEmbedding(nn.Module):
    """Style images ``(S, 3, H, W)`` in [0, 1] -> ``(S, dim)``: :func:`mean_std` of each tap, concatenated.

    Args:
        encoder: frozen VGG encoder (shared with the perceptual loss).
        taps: encoder taps summarised; the embedding only runs VGG as deep as the deepest one.
        size: longest side the style images are resized to before VGG (``None``: as given). VGG up to
            relu4_3 costs ~0.55 GFLOP per 1,000 pixels, so this sets the cost of switching styles.
    """

    def __init__(self, encoder: VGGEncoder, taps: Iterable[str] = JOHNSON_TAPS, size: int | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.taps = encoder.check_taps(taps)
        self.size = size

    @property
    def dim(self) -> int:
        """Length of the embedding: twice the channels of every tap."""
        return sum(2 * self._channels(tap) for tap in self.taps)

    def _channels(self, tap: str) -> int:
        convs = [m for m in self.encoder.layers[: self.encoder.index(tap) + 1] if isinstance(m, nn.Conv2d)]
        return convs[-1].out_channels

    def forward(self, styles: Tensor) -> Tensor:
        return self.statistics(self.resize(styles))

    def statistics(self, styles: Tensor) -> Tensor:
        """Style images already resized ``(S, 3, H, W)`` -> ``(S, dim)``."""
        return self.embed(self.encoder(styles, self.taps))

    def resize(self, styles: Tensor) -> Tensor:
        """``(S, 3, H, W)`` -> the images the embedding reads: longest side :attr:`size` (antialiased).

        Sizes are rounded half up in integer arithmetic, so an ONNX export keeps height and width dynamic.
        """
        h, w = styles.shape[-2:]
        longest = torch.sym_max(h, w)
        if self.size is None or (isinstance(longest, int) and longest == self.size):
            return styles
        size = tuple(torch.sym_max(1, (2 * self.size * side + longest) // (2 * longest)) for side in (h, w))
        return F.interpolate(styles, size=size, mode="bilinear", antialias=True, align_corners=False)

    def embed(self, features: Mapping[str, Tensor]) -> Tensor:
        """Encoder features ``{tap: (S, C, H, W)}`` holding :attr:`taps` -> ``(S, dim)``."""
        return torch.cat([mean_std(features[tap]) for tap in self.taps], dim=1)


def generated_convs(net: TransformNet) -> list[str]:
    """Names of the convs a meta network generates: every ungrouped conv but the first and the last."""
    convs = [name for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    return [name for name in convs[1:-1] if net.get_submodule(name).groups == 1]


def generated_parameters(net: TransformNet, conv: str) -> list[str]:
    """Parameters generated for ``conv``: its weight and bias, then its instance norm's weight and bias."""
    layer, index = conv.rsplit(".", 1)
    after = int(index) + 1
    names = [f"{conv}.weight", f"{conv}.bias"]
    modules = list(net.get_submodule(layer))
    if after < len(modules) and isinstance(modules[after], nn.InstanceNorm2d):
        names += [f"{layer}.{after}.weight", f"{layer}.{after}.bias"]
    return names


class Head(nn.Module):
    """Linear map ``(S, in_features) -> (S, out)`` with its weight stored ``(in_features, out)``.

    With one style the product reads this weight in memory order: on a CPU three times faster than
    ``nn.Linear``'s ``(out, in)`` layout for the meta network's heads, which are up to ~100k wide.
    The weight starts as ``nn.Linear``'s (uniform within ``1 / sqrt(in_features)``), the bias at ``bias`` ``(out,)``.
    """

    def __init__(self, in_features: int, bias: Tensor) -> None:
        super().__init__()
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(in_features, bias.numel()).uniform_(-bound, bound))
        self.bias = nn.Parameter(bias.detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        return torch.addmm(self.bias, x, self.weight)


@register_model("meta_transform_net")
class MetaTransformNet(nn.Module):
    """A :class:`TransformNet` whose inner convs are generated from a style embedding.

    Args:
        embedding_dim: length of the style embedding (:attr:`StyleEmbedding.dim`).
        group_width: hidden units per generated conv (128 in the paper).
        max_gain: each generated conv weight is rescaled (differentiably) so that its gain
            ``rms(w) * sqrt(fan_in)`` stays at most this; PyTorch's default conv init has gain 0.58.
        **net_args: :class:`TransformNet` arguments (``channels``, ``num_blocks``, ``block``, ...).

    ``forward(images (B, 3, H, W), embedding (S, dim))`` with ``S`` = 1 (one style for the batch) or
    ``S`` dividing ``B`` (``B / S`` consecutive images per style) -> ``(B, 3, H, W)``.
    """

    def __init__(
        self, embedding_dim: int = 1920, group_width: int = 128, max_gain: float = 4.0, **net_args: Any
    ) -> None:
        super().__init__()
        self.embedding_dim, self.group_width, self.max_gain = embedding_dim, group_width, float(max_gain)
        self.net = TransformNet(**net_args)
        self.builder_args = {"embedding_dim": embedding_dim, "group_width": group_width, "max_gain": max_gain}
        self.builder_args |= self.net.builder_args
        self.convs = generated_convs(self.net)
        self.generated = [generated_parameters(self.net, name) for name in self.convs]
        self.shapes: dict[str, torch.Size] = {}
        heads = []
        for names in self.generated:
            initial = [self.net.get_parameter(name).detach() for name in names]
            self.shapes.update({name: value.shape for name, value in zip(names, initial, strict=True)})
            heads.append(Head(group_width, torch.cat([v.flatten() for v in initial])))
            for name in names:  # supplied by functional_call from here on
                module, attr = name.rsplit(".", 1)
                setattr(self.net.get_submodule(module), attr, None)
        self.hidden = nn.Sequential(
            nn.LayerNorm(embedding_dim), nn.Linear(embedding_dim, group_width * len(self.convs)), nn.ReLU()
        )
        self.heads = nn.ModuleList(heads)

    def code(self, embedding: Tensor) -> Tensor:
        """``(S, embedding_dim)`` -> hidden code ``(S, group_width * len(convs))``; styles blend linearly here."""
        if embedding.ndim != 2 or embedding.shape[1] != self.embedding_dim:
            raise ValueError(f"expected a style embedding (S, {self.embedding_dim}), got {tuple(embedding.shape)}")
        return self.hidden(embedding)

    def generate(self, code: Tensor) -> dict[str, Tensor]:
        """Hidden code ``(S, G * group_width)`` -> ``{parameter name: (S, *shape)}`` for every generated layer."""
        params: dict[str, Tensor] = {}
        groups = (code / self.group_width).split(self.group_width, dim=1)  # cheaper than scaling the weights
        for names, head, group in zip(self.generated, self.heads, groups, strict=True):
            # at least fp32, also under bf16 autocast: the instance norms take their scale and shift in fp32
            flat = head(group).to(torch.promote_types(self.hidden[1].weight.dtype, torch.float32))
            values = flat.split([self.shapes[name].numel() for name in names], dim=1)
            params.update({name: v.reshape(-1, *self.shapes[name]) for name, v in zip(names, values, strict=True)})
            weight = params[names[0]]
            params[names[0]] = weight * (self.max_gain / gain(weight)).clamp(max=1.0).view(-1, 1, 1, 1, 1)
        return params

    def stylize(self, images: Tensor, params: Mapping[str, Tensor]) -> Tensor:
        """Run the template on ``images`` ``(B, 3, H, W)`` with generated ``params`` ``{name: (S, ...)}``."""
        styles, batch = next(iter(params.values())).shape[0], images.shape[0]
        if styles == 1:
            return functional_call(self.net, {k: v[0] for k, v in params.items()}, (images,))
        if batch % styles:
            raise ValueError(f"a batch of {batch} images cannot be split evenly among {styles} styles")
        grouped = images.reshape(styles, batch // styles, *images.shape[1:])
        out = vmap(lambda p, x: functional_call(self.net, p, (x,)))(dict(params), grouped)
        return out.reshape(batch, *out.shape[2:])

    def forward(self, images: Tensor, embedding: Tensor) -> Tensor:
        return self.stylize(images, self.generate(self.code(embedding)))

    def bake(self, params: Mapping[str, Tensor]) -> TransformNet:
        """A standalone :class:`TransformNet` with the weights :meth:`generate` gave one style, ``{name: (1, ...)}``."""
        styles = next(iter(params.values())).shape[0]
        if styles != 1:
            raise ValueError(f"bake takes the weights of one style, got {styles}")
        net = copy.deepcopy(self.net)
        with torch.no_grad():
            for key, value in params.items():
                module, attr = key.rsplit(".", 1)
                setattr(net.get_submodule(module), attr, nn.Parameter(value[0].clone()))
        return net


def gain(weight: Tensor) -> Tensor:
    """``(S, out, in, k, k)`` conv weights -> ``(S,)`` gains ``rms(w) * sqrt(in * k * k)``."""
    fan_in = math.prod(weight.shape[2:])
    return weight.flatten(1).pow(2).mean(1).sqrt() * math.sqrt(fan_in)


class StyleSwitch(Protocol):
    """Computes style codes and generated weights in another runtime (see ``stylenet.runtimes``)."""

    def code(self, styles: Tensor) -> Tensor: ...

    def generate(self, code: Tensor) -> dict[str, Tensor]: ...


class ArbitraryStyleNet(nn.Module):
    """A style embedding and a meta network: style images -> hidden code -> stylised images.

        code = net.style_code([style_a, style_b], [0.7, 0.3])   # (3, h, w) images at net.style_size
        out = net(content, code)                                 # (B, 3, H, W) in [0, 1]
        plain = net.bake(code)                                   # a TransformNet, exportable like a Johnson net

    Args:
        embedding: VGG statistics of style images.
        net: the meta network with its template transform net.
        style_size: longest side style images are resized to (the size the network was trained at).
        metadata: what the checkpoint it was loaded from records (run config, version).

    ``switch``, when set (``stylenet.runtimes.switch_with_onnxruntime``), computes codes and generated
    weights in place of the eager embedding and heads.
    """

    def __init__(
        self,
        embedding: StyleEmbedding,
        net: MetaTransformNet,
        style_size: int | None = 256,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.embedding, self.net, self.style_size = embedding, net, style_size
        self.metadata = metadata or {}
        self.switch: StyleSwitch | None = None

    @torch.no_grad()
    def style_code(self, styles: Sequence[Tensor], weights: Sequence[float] | None = None) -> Tensor:
        """Style images ``[(3, H_i, W_i), ...]`` (any sizes) -> one hidden code ``(1, D)``.

        Several styles are blended in the meta network's hidden space with ``weights`` (normalised
        to sum to 1; equal weights by default).
        """
        if not styles:
            raise ValueError("style_code needs at least one style image")
        weights = [1.0] * len(styles) if weights is None else [float(w) for w in weights]
        if len(weights) != len(styles):
            raise ValueError(f"{len(styles)} style images but {len(weights)} weights")
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"style weights must be non-negative with a positive sum, got {weights}")
        code = self.switch.code if self.switch else lambda style: self.net.code(self.embedding(style))
        codes = torch.cat([code(style[None]) for style in styles])
        mix = torch.tensor(weights, dtype=codes.dtype, device=codes.device) / sum(weights)
        return (mix[:, None] * codes).sum(0, keepdim=True)

    @torch.no_grad()
    def generate(self, code: Tensor) -> dict[str, Tensor]:
        """Hidden codes ``(S, D)`` -> the generated weights ``{parameter name: (S, *shape)}``."""
        return self.switch.generate(code) if self.switch else self.net.generate(code)

    def forward(self, images: Tensor, code: Tensor) -> Tensor:
        """``(B, 3, H, W)`` in [0, 1] with a code ``(1 or B, D)`` -> ``(B, 3, H, W)`` in [0, 1]."""
        return self.net.stylize(images, self.generate(code))

    @torch.no_grad()
    def bake(self, code: Tensor) -> TransformNet:
        """A plain :class:`TransformNet` with the weights generated for ``code`` ``(1, D)``, in eval mode."""
        return self.net.bake(self.generate(code)).eval()
