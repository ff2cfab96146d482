"""The temporal regulariser (Wang et al. 2020): zero for networks that move with their input, positive for one
that does not, masked at the borders, and wired into both stylizers' configs (off by default)."""

from __future__ import annotations

import pytest
import torch
from conftest import KODAK, compose_train
from hydra.utils import instantiate
from test_metanet import TINY, compose_metanet

from stylenet.imageio import load_image
from stylenet.losses import TemporalLoss, random_affine


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    return torch.stack([load_image(path, 64)[:, :40, :56] for path in KODAK[:3]])


def test_random_affine_stays_within_its_bounds():
    torch.manual_seed(0)
    theta = random_affine(1000, 0.02, 1.0, 0.02, torch.device("cpu"))
    scale = theta[:, :, :2].det().sqrt()
    assert theta.shape == (1000, 2, 3)
    assert (scale - 1).abs().max() <= 0.0201 and (scale - 1).abs().max() > 0.015
    assert theta[:, :, 2].abs().max() <= 0.04 + 1e-6 and theta[:, :, 2].abs().max() > 0.035


def test_zero_for_networks_that_commute_with_warps(photos):
    torch.manual_seed(0)
    loss = TemporalLoss(weight=1.0, noise=0.0)
    mix = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.0, 0.4, 0.6]])
    for net in (lambda x: x, lambda x: 1 - x, lambda x: torch.einsum("oc,bchw->bohw", mix, x)):  # affine per pixel
        assert loss(net, photos, net(photos))["temporal"].item() < 1e-10


def test_noise_and_position_dependent_networks_are_penalised(photos):
    torch.manual_seed(0)
    identity = TemporalLoss(weight=1.0, noise=0.02)(lambda x: x, photos, photos)["temporal"].item()
    assert identity == pytest.approx(0.02**2, rel=0.25)  # the noise itself (a little clamped at 0 and 1)
    ramp = torch.linspace(0, 1, photos.shape[-1])

    def fixed_pattern(x):  # a net that paints the same stripes whatever moves: video flicker
        return x + 0.5 * torch.sin(ramp * 40)

    loss = TemporalLoss(weight=10.0, noise=0.0)(fixed_pattern, photos, fixed_pattern(photos))["temporal"].item()
    assert loss > 10 * 1e-3


def test_out_of_image_pixels_are_masked(photos):
    torch.manual_seed(0)
    outside = TemporalLoss(weight=1.0, noise=0.0, max_shift=0.2, max_rotation=0.0, max_zoom=0.0)

    def edges_differ(x):  # a net that changes only a border band of width 1: replicated borders must not count
        y = x.clone()
        y[..., :, 0] = 0.0
        return y

    # shifted by up to 20%, the border pixels that grid_sample replicates fall outside the mask
    assert outside(lambda x: x, photos, photos)["temporal"].item() < 1e-10
    assert outside(edges_differ, photos, edges_differ(photos))["temporal"].item() < 0.02


def stylizer_config(tmp_path, overrides: list[str]):
    return compose_train(tmp_path, overrides)


def metanet_config(tmp_path, overrides: list[str]):
    return compose_metanet(tmp_path, [*TINY, *overrides])


@pytest.mark.parametrize("compose", [stylizer_config, metanet_config])
def test_both_stylizers_add_the_term_in_training_and_leave_it_off_by_default(tmp_path, compose):
    default = compose(tmp_path, [])
    assert default.system.temporal.weight == 0
    encoder = instantiate(default.backbone)
    assert (
        instantiate(default.system, net=instantiate(default.model), loss=instantiate(default.loss, encoder)).temporal
        is None
    )
    cfg = compose(tmp_path, ["system.temporal.weight=1e8"])
    system = instantiate(cfg.system, net=instantiate(cfg.model), loss=instantiate(cfg.loss, encoder))
    data = instantiate(cfg.data)
    data.setup("fit")
    loader = data.train_dataloader()
    batch = next(iter(loader))
    batch = batch[0] if isinstance(batch, tuple) else batch  # CombinedLoader: (batch, index, loader index)
    torch.manual_seed(0)
    with_term = system.step(batch, "train")
    system.temporal = None
    without = system.step(batch, "train")
    assert with_term.item() > without.item() * 1.001, "the temporal term adds to the training loss"
