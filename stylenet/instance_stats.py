"""Record the instance-norm statistics of one forward pass and replay them in later passes.

Instance norm normalises every channel by the mean and variance of the image it sees. Running a network
on tiles of an image gives every tile its own statistics, so colours and contrast jump between tiles.
:func:`record_instance_stats` captures the statistics of a whole-image pass and
:func:`fixed_instance_stats` makes every ``nn.InstanceNorm*`` of the same network use them instead, for
any input size. Both are context managers built on forward hooks: the network is neither copied nor
modified, and any network whose normalisation layers are ``nn.InstanceNorm*`` modules works.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.modules.instancenorm import _InstanceNorm


@dataclass(frozen=True)
class ChannelStats:
    """Mean and biased variance of one instance norm's input, each ``(B, C, 1, 1)``."""

    mean: Tensor
    var: Tensor


def instance_norms(net: nn.Module) -> list[_InstanceNorm]:
    """Every instance-norm module of ``net``, in registration order."""
    return [m for m in net.modules() if isinstance(m, _InstanceNorm)]


def _spatial_dims(x: Tensor) -> tuple[int, ...]:
    return tuple(range(2, x.dim()))


@contextmanager
def record_instance_stats(net: nn.Module) -> Iterator[dict[nn.Module, ChannelStats]]:
    """Within the block, each forward pass of ``net`` stores its instance norms' input statistics.

    Yields a dict ``{norm module: ChannelStats}`` filled by the passes (the last pass wins).
    """
    stats: dict[nn.Module, ChannelStats] = {}

    def record(module: nn.Module, args: tuple[Tensor, ...]) -> None:
        x = args[0].detach()
        var, mean = torch.var_mean(x, dim=_spatial_dims(x), correction=0, keepdim=True)
        stats[module] = ChannelStats(mean, var)

    handles = [norm.register_forward_pre_hook(record) for norm in instance_norms(net)]
    try:
        yield stats
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def fixed_instance_stats(net: nn.Module, stats: dict[nn.Module, ChannelStats]) -> Iterator[None]:
    """Within the block, ``net``'s instance norms normalise with ``stats`` instead of their input's.

    ``stats`` comes from :func:`record_instance_stats` on a batch of 1 (broadcast to any batch) or of
    the same batch size. Raises ``ValueError`` if an instance norm of ``net`` has no recorded statistics.
    """
    norms = instance_norms(net)
    missing = [norm for norm in norms if norm not in stats]
    if missing:
        raise ValueError(f"no recorded statistics for {len(missing)} of {len(norms)} instance norms of the network")

    def replay(module: _InstanceNorm, args: tuple[Tensor, ...], _output: Tensor) -> Tensor:
        recorded = stats[module]
        x = (args[0] - recorded.mean) * torch.rsqrt(recorded.var + module.eps)
        if module.affine:
            shape = (1, -1) + (1,) * (x.dim() - 2)
            x = x * module.weight.view(shape) + module.bias.view(shape)
        return x

    handles = [norm.register_forward_hook(replay) for norm in norms]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
