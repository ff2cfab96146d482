"""Perceptual head: real weights, taps identical to torchvision, receptive-field pooling geometry."""

from __future__ import annotations

import pytest
import torch
import torchvision
from conftest import KODAK, VGG16, VGG19

from stylenet.imageio import load_image
from stylenet.vgg import IMAGENET_MEAN, IMAGENET_STD, PoolGeometry, VGGEncoder


def test_taps_identical_to_torchvision_features(vgg16):
    reference = torchvision.models.vgg16().features
    reference.load_state_dict(torch.load(VGG16, weights_only=True))
    reference.eval()
    image = load_image(KODAK[0], 96)[None]
    x = (image - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    expected = {}
    with torch.no_grad():
        for index, layer in enumerate(reference):
            x = layer(x)
            expected[index] = x.clone()
        taps = vgg16(image, ["relu1_1", "conv3_2", "relu3_3", "pool4", "relu5_3"])
    for tap, index in {"relu1_1": 1, "conv3_2": 12, "relu3_3": 15, "pool4": 23, "relu5_3": 29}.items():
        torch.testing.assert_close(taps[tap], expected[index], rtol=1e-5, atol=1e-5)


def test_conv_tap_not_clobbered_by_relu(vgg16):
    taps = vgg16(torch.rand(1, 3, 32, 32), ["conv1_1", "relu1_1"])
    assert (taps["conv1_1"] < 0).any(), "a conv tap must keep its negative values"
    torch.testing.assert_close(taps["relu1_1"], taps["conv1_1"].clamp(min=0))


def test_forward_stops_at_deepest_tap(vgg16):
    called = []
    hooks = [layer.register_forward_hook(lambda *_, i=i: called.append(i)) for i, layer in enumerate(vgg16.layers)]
    try:
        vgg16(torch.rand(1, 3, 32, 32), ["relu2_2"])
    finally:
        for hook in hooks:
            hook.remove()
    assert max(called) == vgg16.index("relu2_2") == 8


def test_vgg19_normalised_fp16_file_loads_as_float32():
    encoder = VGGEncoder("vgg19", VGG19)
    assert all(p.dtype == torch.float32 for p in encoder.parameters())
    assert "relu5_4" in encoder.names and encoder.index("relu4_1") == 20
    out = encoder(load_image(KODAK[1], 64)[None], ["relu3_1"])["relu3_1"]
    assert torch.isfinite(out).all() and out.mean() > 0


def test_full_torchvision_state_dict_is_accepted(tmp_path, vgg16):
    full = torchvision.models.vgg16()
    full.features.load_state_dict(torch.load(VGG16, weights_only=True))
    torch.save(full.state_dict(), tmp_path / "full.pth")
    encoder = VGGEncoder("vgg16", tmp_path / "full.pth")
    image = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(encoder(image, ["relu2_1"])["relu2_1"], vgg16(image, ["relu2_1"])["relu2_1"])


def test_frozen_and_kept_in_eval(vgg16):
    vgg16.train()
    assert not vgg16.training
    assert not any(p.requires_grad for p in vgg16.parameters())
    assert not [k for k in vgg16.state_dict() if k in ("mean", "std")]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(KeyError, match=r"relu9_9"):
        VGGEncoder("vgg16", None, taps=["relu9_9"])
    with pytest.raises(FileNotFoundError, match=r"nope.pth"):
        VGGEncoder("vgg16", tmp_path / "nope.pth")
    with pytest.raises(ValueError, match=r"does not hold vgg16"):
        VGGEncoder("vgg16", VGG19)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"junk.pth"):
        VGGEncoder("vgg16", tmp_path / "junk.pth")
    with pytest.raises(ValueError, match=r"vgg11"):
        VGGEncoder("vgg11", None)


@pytest.mark.parametrize(
    ("shallow", "deep", "expected"),
    [
        ("relu1_1", "relu2_1", PoolGeometry(8, 2, 3)),
        ("relu4_1", "relu5_1", PoolGeometry(10, 2, 4)),
        ("relu3_1", "relu5_1", PoolGeometry(28, 4, 12)),
        ("relu2_1", "relu5_1", PoolGeometry(62, 8, 27)),
        ("relu1_1", "relu5_1", PoolGeometry(130, 16, 57)),
    ],
)
def test_receptive_field_matches_cross_layer_paper(shallow, deep, expected):
    assert VGGEncoder("vgg16", None).pooling(shallow, deep) == expected


def test_receptive_field_on_vgg19_counts_its_extra_convs():
    # relu3_1 -> relu4_1 crosses conv3_2, conv3_3, conv3_4 (3x3), pool3 (2x2/2), conv4_1 (3x3 at jump 2).
    assert VGGEncoder("vgg19", None).pooling("relu3_1", "relu4_1") == PoolGeometry(1 + 2 + 2 + 2 + 1 + 4, 2, 3 + 2)


def test_pair_must_go_from_shallow_to_deep():
    with pytest.raises(ValueError, match=r"relu3_1 must come before relu2_1"):
        VGGEncoder("vgg16", None).pooling("relu3_1", "relu2_1")
