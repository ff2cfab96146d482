"""Export: TorchScript and ONNX round trips on real images of odd sizes, sidecar, checkpoint errors."""

from __future__ import annotations

import hashlib
import json

import onnx
import pytest
import torch
from stylize_helpers import KODAK, STARRY, TUBINGEN, checkpoint_fixture, model_config  # noqa: F401 - a fixture

import export as export_script
from stylenet import __version__
from stylenet.checkpoint import load as load_checkpoint
from stylenet.imageio import load_image
from stylenet.instance_stats import fixed_instance_stats, record_instance_stats
from stylenet.runtimes import ExportMismatchError, check_against_eager, max_abs_difference, onnx_session, run_onnx


def odd_crop(path, height: int, width: int) -> torch.Tensor:
    """A real square photo resized to side ``2 * max(height, width)`` and cropped to ``(1, 3, height, width)``."""
    image = load_image(path, 2 * max(height, width))[None]
    return image[..., :height, :width]


def test_export_script_round_trip_at_odd_sizes_with_sidecar(checkpoint, tmp_path):
    stem = tmp_path / "exported" / "starry"
    assert export_script.main([str(checkpoint), "-o", str(stem), "--check-image", str(TUBINGEN)]) == 0
    net = load_checkpoint(checkpoint).network
    scripted = torch.jit.load(str(stem.with_suffix(".pt")))
    session = onnx_session(stem.with_suffix(".onnx"))
    image = odd_crop(KODAK[1], 333, 517)
    batch = torch.cat([odd_crop(KODAK[2], 101, 77), odd_crop(KODAK[3], 101, 77)])
    for images in (image, batch):
        assert max_abs_difference(net, scripted, images) < 1e-5
        assert max_abs_difference(net, lambda x: run_onnx(session, x), images) < 1e-4
    nodes = {node.op_type for node in onnx.load(str(stem.with_suffix(".onnx"))).graph.node}
    assert "InstanceNormalization" in nodes
    description = json.loads(stem.with_suffix(".json").read_text())
    assert description["style"]["image"] == STARRY.name
    assert description["style"]["sha256"] == hashlib.sha256(STARRY.read_bytes()).hexdigest()
    assert description["input"]["range"] == [0.0, 1.0]
    assert description["stylenet_version"] == __version__
    assert description["config"]["model"] == model_config()
    assert set(description["max_abs_difference_from_eager"]) == {"torchscript", "onnx"}


def test_check_against_eager_fails_loudly(checkpoint):
    net = load_checkpoint(checkpoint).network
    image = odd_crop(KODAK[0], 63, 95)
    assert check_against_eager("eager", net, net, image) == 0.0
    with pytest.raises(ExportMismatchError, match="shape"):
        check_against_eager("cropped", net, lambda x: net(x)[..., :-1], image)
    with pytest.raises(ExportMismatchError, match="exceeds the tolerance"):
        check_against_eager("shifted", net, lambda x: net(x) + 1e-3, image)


def test_load_checkpoint_names_the_problem(checkpoint, tmp_path):
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        load_checkpoint(KODAK[0])
    plain = tmp_path / "plain.ckpt"
    torch.save({"state_dict": {}}, plain)
    with pytest.raises(ValueError, match="not a stylenet checkpoint"):
        load_checkpoint(plain)
    other = torch.load(checkpoint, weights_only=True)
    other["stylenet"]["network"]["args"]["channels"] = 16
    torch.save(other, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match="another architecture"):
        load_checkpoint(tmp_path / "other.ckpt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.ckpt")


def test_replayed_instance_stats_reproduce_the_forward_pass(checkpoint):
    net = load_checkpoint(checkpoint).network
    image, other = odd_crop(KODAK[0], 99, 130), odd_crop(KODAK[1], 99, 130)
    with torch.inference_mode():
        expected = net(image)
        with record_instance_stats(net) as stats:
            net(image)
        with fixed_instance_stats(net, stats):
            replayed = net(image)
            on_other_image = net(other)
        assert len(stats) == sum(isinstance(m, torch.nn.InstanceNorm2d) for m in net.modules())
        torch.testing.assert_close(replayed, expected, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(on_other_image, net(other), atol=1e-3)  # the hooks are gone after the block
        torch.testing.assert_close(net(image), expected)
    with pytest.raises(ValueError, match="no recorded statistics"), fixed_instance_stats(net, {}):
        pass


def test_a_weights_only_export_is_small_loads_everywhere_and_stylises_alike(checkpoint, tmp_path):
    from stylenet.cli import main
    from stylenet.inference import load_model

    target = tmp_path / "pretrained" / "starry"
    assert main(["export", str(checkpoint), "--weights-only", "-o", str(target), "--check-image", str(TUBINGEN)]) == 0
    shipped = target.with_suffix(".ckpt")
    saved = torch.load(shipped, weights_only=True)
    assert set(saved) == {"state_dict", "stylenet"}  # nothing for resuming
    assert {v.dtype for v in saved["state_dict"].values() if v.is_floating_point()} == {torch.float16}
    assert shipped.stat().st_size < 0.6 * checkpoint.stat().st_size
    photo = load_image(KODAK[0], 160)[None]
    original = load_model(checkpoint, backend="eager").run(photo)
    assert (load_model(shipped, backend="eager").run(photo) - original).abs().max() < 0.02
    assert load_checkpoint(shipped).metadata == load_checkpoint(checkpoint).metadata
    # it never overwrites the checkpoint it reads
    assert main(["export", str(shipped), "--weights-only", "-o", str(target), "--check-image", str(TUBINGEN)]) == 1
