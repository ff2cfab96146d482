"""The library's training step gives the plain eager fp32 NCHW step's loss terms and gradients on the same batch.

Tolerances, float32 against float32 summed in another order and layout: each loss term within a relative 1e-5
(measured ~2e-7); the gradient of all parameters together within a relative 2e-4 in l2 norm, and each parameter's
within 5e-4 of its own norm plus 1e-6 of the total's (measured up to ~7e-5; the plain step's own error against
float64 is ~3e-5). The conv biases ahead of instance norms have a zero true gradient: only the second bound holds
them, at rounding level.
"""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import KODAK, compose_train
from hydra.utils import instantiate

from bench.steps import PlainPerceptualLoss, plain_step, stylizer_step
from stylenet.imageio import load_image

SIZE = 64


def kodak_batch(count: int) -> torch.Tensor:
    """``(count, 3, SIZE, SIZE)``: the top-left squares of Kodak photos resized to a shorter side of SIZE."""
    return torch.stack([load_image(path, SIZE * 3 // 2)[:, :SIZE, :SIZE] for path in KODAK[:count]])


@pytest.mark.parametrize("recipe", ["gram", "crosslayer"])
def test_stylizer_step_matches_plain_step(tmp_path, recipe):
    torch.manual_seed(0)
    cfg = compose_train(tmp_path, [f"loss={recipe}"])
    loss = instantiate(cfg.loss, encoder=instantiate(cfg.backbone))
    net = instantiate(cfg.model)
    plain_net = copy.deepcopy(net)
    system = instantiate(cfg.system, net=net, loss=loss)
    assert system.loss.encoder.layers[0].weight.is_contiguous(memory_format=torch.channels_last)
    plain_loss = PlainPerceptualLoss(loss, cfg.backbone.weights, load_image(cfg.style.image, cfg.style.size)[None])
    images = kodak_batch(2)

    # lr 0: the steps leave the parameters alone and their gradients in place
    terms = stylizer_step(system, torch.optim.SGD(net.parameters(), lr=0.0), images)
    plain_terms = plain_step(plain_net, plain_loss, torch.optim.SGD(plain_net.parameters(), lr=0.0), images)

    assert terms.keys() == plain_terms.keys()
    assert len([name for name in terms if name.startswith(("gram/", "crosslayer/"))]) in (3, 4)
    for name, value in terms.items():
        torch.testing.assert_close(value, plain_terms[name], rtol=1e-5, atol=0.0, msg=f"loss term {name}")
    grads, plain_grads = [p.grad for p in net.parameters()], [p.grad for p in plain_net.parameters()]
    total = torch.cat([g.flatten() for g in plain_grads]).norm()
    assert total > 0
    assert torch.cat([(g - p).flatten() for g, p in zip(grads, plain_grads, strict=True)]).norm() <= 2e-4 * total
    for (name, param), plain_param in zip(net.named_parameters(), plain_net.parameters(), strict=True):
        error = (param.grad - plain_param.grad).norm()
        assert error <= 5e-4 * plain_param.grad.norm() + 1e-6 * total, f"gradient of {name}: error {error:.3g}"
