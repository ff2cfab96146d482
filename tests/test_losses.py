"""Losses recomputed by hand on small tensors, and their behaviour on the real encoder."""

from __future__ import annotations

import math

import pytest
import torch

from stylenet.losses import (
    ContentLoss,
    CrossLayerLoss,
    GramLoss,
    PerceptualLoss,
    TotalVariationLoss,
    cross_layer_matrix,
    gram_matrix,
    pool_to,
)
from stylenet.vgg import PoolGeometry, VGGEncoder

torch.manual_seed(0)


def test_gram_matrix_by_hand():
    f = torch.randn(2, 3, 4, 5)
    expected = torch.zeros(2, 3, 3)
    for b in range(2):
        for i in range(3):
            for j in range(3):
                expected[b, i, j] = (f[b, i] * f[b, j]).sum() / (3 * 4 * 5)
    torch.testing.assert_close(gram_matrix(f), expected)


def _pool_by_hand(x: torch.Tensor, g: PoolGeometry, mode: str) -> torch.Tensor:
    """Explicit windows over the unpadded map: avg ignores padding, max over valid cells."""
    b, c, h, w = x.shape
    oh, ow = (h + 2 * g.padding - g.kernel) // g.stride + 1, (w + 2 * g.padding - g.kernel) // g.stride + 1
    out = torch.empty(b, c, oh, ow)
    for i in range(oh):
        for j in range(ow):
            top, left = i * g.stride - g.padding, j * g.stride - g.padding
            window = x[:, :, max(top, 0) : top + g.kernel, max(left, 0) : left + g.kernel]
            out[:, :, i, j] = window.amax(dim=(2, 3)) if mode == "max" else window.mean(dim=(2, 3))
    return out


@pytest.mark.parametrize("mode", ["avg", "max"])
def test_cross_layer_matrix_by_hand(mode):
    g = PoolGeometry(kernel=8, stride=2, padding=3)
    shallow, deep = torch.randn(2, 3, 10, 14), torch.randn(2, 4, 5, 7)
    pooled = _pool_by_hand(shallow, g, mode)
    torch.testing.assert_close(pool_to(shallow, g, mode), pooled)
    expected = torch.zeros(2, 3, 4)
    for b in range(2):
        for i in range(3):
            for j in range(4):
                expected[b, i, j] = (pooled[b, i] * deep[b, j]).sum() / (math.sqrt(3 * 4) * 5 * 7)
    torch.testing.assert_close(cross_layer_matrix(shallow, deep, g, mode), expected)


def test_cross_layer_matrix_of_a_tap_with_itself_is_its_gram():
    f = torch.randn(2, 5, 6, 7)
    torch.testing.assert_close(cross_layer_matrix(f, f, PoolGeometry(1, 1, 0)), gram_matrix(f))


def test_cross_layer_rejects_misaligned_geometry():
    with pytest.raises(ValueError, match="does not align"):
        cross_layer_matrix(torch.randn(1, 2, 8, 8), torch.randn(1, 2, 3, 3), PoolGeometry(2, 2, 0))


def test_total_variation_by_hand():
    x = torch.randn(2, 3, 4, 5)
    dy = sum(
        abs(x[b, c, i + 1, j] - x[b, c, i, j]) for b in range(2) for c in range(3) for i in range(3) for j in range(5)
    )
    dx = sum(
        abs(x[b, c, i, j + 1] - x[b, c, i, j]) for b in range(2) for c in range(3) for i in range(4) for j in range(4)
    )
    expected = 0.5 * (dy / (2 * 3 * 3 * 5) + dx / (2 * 3 * 4 * 4))
    torch.testing.assert_close(TotalVariationLoss(weight=0.5)(x)["tv"], expected)


def test_content_loss_by_hand():
    a, b = {"relu2_2": torch.randn(2, 4, 3, 3)}, {"relu2_2": torch.randn(2, 4, 3, 3)}
    terms = ContentLoss({"relu2_2": 2.0}, weight=3.0)(a, b)
    torch.testing.assert_close(terms["content/relu2_2"], 6.0 * ((a["relu2_2"] - b["relu2_2"]) ** 2).mean())


def test_gram_loss_weights_and_per_sample_targets():
    loss = GramLoss({"a": 1.0, "b": 0.5}, weight=10.0)
    style = {"a": torch.randn(2, 3, 4, 4), "b": torch.randn(2, 2, 2, 2)}
    out = {"a": torch.randn(2, 3, 4, 4), "b": torch.randn(2, 2, 2, 2)}
    loss.set_target(style)
    terms = loss(out)
    expected_b = 5.0 * ((gram_matrix(out["b"]) - gram_matrix(style["b"])) ** 2).mean()
    torch.testing.assert_close(terms["gram/b"], expected_b)
    assert loss.state_dict() == {}, "style targets must not be saved"
    one = GramLoss(["a"])
    one.set_target({"a": style["a"][:1]})
    broadcast = ((gram_matrix(out["a"]) - gram_matrix(style["a"][:1])) ** 2).mean()
    torch.testing.assert_close(one(out)["gram/a"], broadcast)


def test_relative_gram_loss_divides_by_each_samples_target_and_ignores_the_features_scale():
    style = {"a": torch.randn(2, 3, 4, 4), "b": 30 * torch.randn(2, 2, 2, 2)}
    out = {"a": torch.randn(2, 3, 4, 4), "b": 30 * torch.randn(2, 2, 2, 2)}
    loss = GramLoss({"a": 1.0, "b": 0.5}, weight=10.0, relative=True)
    loss.set_target(style)
    terms = loss(out)
    g_out, g_style = gram_matrix(out["b"]), gram_matrix(style["b"])
    per_sample = ((g_out - g_style) ** 2).flatten(1).mean(1) / (g_style**2).flatten(1).mean(1)
    torch.testing.assert_close(terms["gram/b"], 5.0 * per_sample.mean())
    scaled = GramLoss({"a": 1.0, "b": 0.5}, weight=10.0, relative=True)
    scaled.set_target({k: 7 * v for k, v in style.items()})
    for key, value in scaled({k: 7 * v for k, v in out.items()}).items():
        torch.testing.assert_close(value, terms[key])
    absolute = GramLoss({"a": 1.0, "b": 0.5}, weight=10.0)
    absolute.set_target(style)
    assert absolute(out)["gram/b"] > 100 * terms["gram/b"]  # the absolute term grows with the features' scale


def test_style_loss_without_target_says_so():
    with pytest.raises(RuntimeError, match="set_style"):
        GramLoss(["a"])({"a": torch.randn(1, 2, 3, 3)})


def test_perceptual_loss_on_real_vgg(vgg16):
    crosslayer = CrossLayerLoss([["relu1_2", "relu2_2"], "relu2_2->relu3_3"], pool="max", weight=1e9)
    loss = PerceptualLoss(vgg16, ContentLoss(["relu2_2"], 1.0), [GramLoss(["relu1_2", "relu3_3"], 1e9), crosslayer])
    assert crosslayer.geometry[("relu1_2", "relu2_2")] == PoolGeometry(10, 2, 4)
    style, content = torch.rand(1, 3, 45, 37), torch.rand(2, 3, 33, 41)
    loss.set_style(style)
    terms = loss(content.clone().requires_grad_(), content)
    assert terms["content/relu2_2"] == 0
    assert set(terms) == {
        "content/relu2_2", "gram/relu1_2", "gram/relu3_3",
        "crosslayer/relu1_2->relu2_2", "crosslayer/relu2_2->relu3_3", "total",
    }  # fmt: skip
    torch.testing.assert_close(terms["total"], sum(v for k, v in terms.items() if k != "total"))
    loss.set_style(content[:1])
    assert loss(content[:1])["total"] < 1e-6 * terms["total"]


def test_bad_loss_configuration_names_the_problem():
    encoder = VGGEncoder("vgg16", None)
    with pytest.raises(KeyError, match="relu6_1"):
        PerceptualLoss(encoder, style=[GramLoss(["relu6_1"])])
    with pytest.raises(ValueError, match="relu4_1 must come before relu2_1"):
        PerceptualLoss(encoder, style=[CrossLayerLoss([["relu4_1", "relu2_1"]])])
    with pytest.raises(ValueError, match="two taps"):
        CrossLayerLoss([["relu1_1"]])
    with pytest.raises(ValueError, match="median"):
        CrossLayerLoss([["relu1_1", "relu2_1"]], pool="median")
