"""Each conv of the Johnson net at 1024² on this CPU: oneDNN (PyTorch's default) vs NNPACK (Winograd / FFT).

    python -m bench.conv_algorithms [--size 1024] [--repeats 3]

Times every distinct conv of ``conf/model/johnson.yaml`` once, on an already padded input, with
PyTorch's default CPU conv (oneDNN's direct convolution) and with NNPACK
(``torch._nnpack_spatial_convolution``: Winograd for 3x3 stride-1 convs, FFT for larger kernels), and
prints each layer's milliseconds, the NNPACK/oneDNN ratio and the largest difference of the outputs.
The last line adds up the faster of the two for each conv over the whole net: a bound on what choosing
a conv algorithm per layer could give, before instance norms, padding and upsampling.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import Tensor, nn

from bench.metanet import median_ms
from stylenet.models import TransformNet

ROOT = Path(__file__).resolve().parents[1]


def conv_inputs(net: TransformNet, size: int) -> list[tuple[str, nn.Conv2d, Tensor]]:
    """``(name, conv, padded input)`` for every conv of ``net`` on a ``(1, 3, size, size)`` image."""
    inputs: list[tuple[str, nn.Conv2d, Tensor]] = []
    hooks = [
        module.register_forward_pre_hook(lambda m, args, name=name: inputs.append((name, m, args[0])))
        for name, module in net.named_modules()
        if isinstance(module, nn.Conv2d)
    ]
    with torch.inference_mode():
        net(torch.rand(1, 3, size, size))
    for hook in hooks:
        hook.remove()
    return inputs


def compare(conv: nn.Conv2d, x: Tensor, repeats: int) -> tuple[float, float, float]:
    """``(oneDNN ms, NNPACK ms, max |difference|)`` of ``conv`` on the padded input ``x``."""

    def default() -> Tensor:
        return F.conv2d(x, conv.weight, conv.bias, conv.stride)

    def nnpack() -> Tensor:
        return torch._nnpack_spatial_convolution(x, conv.weight, conv.bias, [0, 0], list(conv.stride))

    diff = (nnpack() - default()).abs().max().item()
    return median_ms(default, repeats), median_ms(nnpack, repeats), diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not torch._nnpack_available():  # also initialises NNPACK
        raise SystemExit("this PyTorch build has no NNPACK")
    config = OmegaConf.to_container(OmegaConf.load(ROOT / "conf/model/johnson.yaml"))
    net = TransformNet(**{k: v for k, v in config.items() if k != "_target_"}).eval()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size}², median of {args.repeats}")
    columns = f"{'oneDNN ms':>10} {'NNPACK ms':>10} {'ratio':>7} {'max diff':>9}"
    print(f"{'conv':<20} {'in->out kxk/stride @input':<26} {columns}")
    timings: dict[tuple, tuple[float, float, float]] = {}
    total_default = total_best = 0.0
    with torch.inference_mode():
        for name, conv, x in conv_inputs(net, args.size):
            key = (tuple(x.shape), tuple(conv.weight.shape), conv.stride)
            if key not in timings:  # the residual convs share one shape
                timings[key] = compare(conv, x, args.repeats)
                default, fast, diff = timings[key]
                k, stride = conv.kernel_size[0], conv.stride[0]
                shape = f"{conv.in_channels}->{conv.out_channels} {k}x{k}/{stride} @{x.shape[-1]}"
                print(f"{name:<20} {shape:<26} {default:>10.1f} {fast:>10.1f} {fast / default:>6.2f}x {diff:>9.1e}")
            default, fast, _ = timings[key]
            total_default += default
            total_best += min(default, fast)
    best = f"the faster of the two per conv {total_best:.0f} ms ({total_best / total_default:.2f}x)"
    print(f"all convs: oneDNN {total_default:.0f} ms, {best}")


if __name__ == "__main__":
    main()
