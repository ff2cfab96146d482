"""The checkpoint format and its one reader, the public API, the config groups and bad model files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, SHARED, STARRY, compose_train

import stylenet
from stylenet import checkpoint as checkpoints
from stylenet.cli import main
from stylenet.config import compose_config
from stylenet.imageio import load_image
from stylenet.inference import image_network, load_metanet, load_model
from stylenet.models import MetaTransformNet, TransformNet, get_model, list_models, model_spec

FIXTURES = Path(__file__).parent / "fixtures"
# written by stylenet before checkpoints recorded their kind and network (format 1), with their outputs
LEGACY_STYLIZER = FIXTURES / "legacy_stylizer.ckpt"
LEGACY_METANET = FIXTURES / "legacy_metanet.ckpt"
LEGACY_OUTPUTS = torch.load(FIXTURES / "legacy_outputs.pt", weights_only=True)


def test_checkpoints_written_before_the_format_had_a_number_load_and_give_the_same_outputs():
    stylizer = checkpoints.load(LEGACY_STYLIZER)
    assert stylizer.kind == "stylizer" and isinstance(stylizer.network, TransformNet)
    assert stylizer.metadata["network"] == {"name": "transform_net", "args": stylizer.network.builder_args}
    x = LEGACY_OUTPUTS["input"]
    with torch.no_grad():
        torch.testing.assert_close(stylizer.network(x), LEGACY_OUTPUTS["stylizer"])
    metanet = checkpoints.load(LEGACY_METANET)
    assert metanet.kind == "metanet" and isinstance(metanet.network, MetaTransformNet)
    assert metanet.metadata["metanet"]["style_size"] == 32
    baked, metadata, _ = image_network(LEGACY_METANET, [STARRY])
    with torch.no_grad():
        torch.testing.assert_close(baked(x), LEGACY_OUTPUTS["metanet_starry"])
    assert metadata["style"]["image"] == STARRY.name
    model = load_metanet(LEGACY_METANET)
    assert model.style_size == 32 and model.embedding.size == 24


def test_a_checkpoint_rebuilds_its_network_from_a_registered_name_not_the_run_config(tmp_path):
    from train import train

    train(compose_train(tmp_path, ["trainer.max_steps=1", "trainer.val_check_interval=1"]))
    saved = torch.load(tmp_path / "checkpoints/last.ckpt", weights_only=True)
    record = saved["stylenet"]
    assert record["format"] == checkpoints.FORMAT and record["kind"] == "stylizer"
    assert record["network"]["name"] in list_models()
    assert "_target_" not in str(record["network"])
    del record["config"]  # the run config is metadata only: nothing is built from it
    torch.save(saved, tmp_path / "bare.ckpt")
    loaded = checkpoints.load(tmp_path / "bare.ckpt")
    assert model_spec(loaded.network) == record["network"]
    assert loaded.sha256 == checkpoints.file_sha256(tmp_path / "bare.ckpt")
    record["format"] = 99
    torch.save(saved, tmp_path / "future.ckpt")
    with pytest.raises(ValueError, match=r"future\.ckpt has checkpoint format 99"):
        checkpoints.load(tmp_path / "future.ckpt")


def test_registry_builds_by_name_and_names_what_it_knows():
    net = get_model("transform_net", channels=4, num_blocks=1)
    assert model_spec(net)["args"]["channels"] == 4
    assert {"transform_net", "meta_transform_net"} <= set(list_models())
    with pytest.raises(ValueError, match=r"unknown model 'nope'.*transform_net"):
        get_model("nope")
    with pytest.raises(ValueError, match="Linear is not a registered model"):
        model_spec(torch.nn.Linear(1, 1))


def test_public_api_from_the_package_top():
    from stylenet import (  # noqa: F401 - importable is the point
        MetaTransformNet,
        PerceptualLoss,
        StyleOptions,
        TransformNet,
        VGGEncoder,
        load_checkpoint,
        load_model,
        stylize,
    )

    assert stylenet.load_checkpoint is checkpoints.load
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        stylenet.nothing  # noqa: B018


def test_inference_imports_neither_lightning_nor_the_exporters():
    unwanted = "('lightning', 'stylenet.exporters', 'stylenet.systems', 'stylenet.training')"
    code = f"import sys, stylenet.inference; print(sorted(m for m in sys.modules if m.startswith({unwanted})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("suffix", [".onnx", ".pt"])
@pytest.mark.parametrize("content", [b"", b"not a model at all\n" * 20, "truncated"])
def test_a_corrupt_or_foreign_model_file_gets_one_line_naming_it(tmp_path, suffix, content):
    model = tmp_path / f"bad{suffix}"
    if content == "truncated":  # the first half of a real ONNX or TorchScript file
        real = tmp_path / f"real{suffix}"
        net = TransformNet(channels=4, num_blocks=1).eval()
        if suffix == ".onnx":
            from stylenet.runtimes import to_onnx

            to_onnx(net, real)
        else:
            torch.jit.script(net).save(str(real))
        content = real.read_bytes()[: real.stat().st_size // 2]
    model.write_bytes(content)
    with pytest.raises(ValueError, match=rf"bad\{suffix} is not a readable") as error:
        load_model(model)
    assert "\n" not in str(error.value)
    photo = next((SHARED / "images/content/kodak24").glob("*.jpg"))
    with pytest.raises(SystemExit) as stop:
        main(["stylize", str(photo), "-m", str(model), "-o", str(tmp_path / "out"), "--quiet"])
    message = str(stop.value.code)
    assert message.startswith("stylenet stylize: error:") and str(model) in message and "\n" not in message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_choosing_the_meta_network_is_one_override_and_derives_what_must_agree():
    cfg = compose_config("train", ["system=metanet", "paths.output_dir=/tmp/unused"])
    assert cfg.system._target_ == "stylenet.systems.MetaStylizer"
    assert cfg.model.name == "meta_transform_net"
    assert cfg.data._target_.endswith("ContentStyleDataModule") and cfg.style.image is None
    assert cfg.model.embedding_dim == 1920
    assert cfg.system.style_size == cfg.data.style.image_size
    other = compose_config(
        "train", ["system=metanet", "backbone=vgg19", "system.embedding_taps=[relu1_1,relu5_1]", "paths.output_dir=/x"]
    )
    assert other.model.embedding_dim == 2 * (64 + 512)
    vgg19 = compose_config("train", ["backbone=vgg19", "paths.output_dir=/x"])
    assert vgg19.loss.style[0].weight == pytest.approx(0.43 * vgg19.style.style_weight)


def test_no_config_group_but_experiments_and_sweeps_writes_global_keys():
    globals_ = [p for p in (ROOT / "conf").rglob("*.yaml") if "@package _global_" in p.read_text()]
    assert {p.parent.name for p in globals_} <= {"experiment", "hparams_search"}


@pytest.mark.parametrize("command", ["train", "export", "stylize", "optimize", "evaluate"])
def test_every_subcommand_has_help_from_another_directory(command, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "stylenet.cli", command, "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"stylenet {command}" in result.stdout


def test_load_model_needs_the_right_kind_of_checkpoint():
    with pytest.raises(ValueError, match=r"legacy_metanet\.ckpt is a meta-network checkpoint"):
        load_model(LEGACY_METANET)
    with pytest.raises(ValueError, match=r"legacy_stylizer\.ckpt is not a meta-network checkpoint"):
        load_model(LEGACY_STYLIZER, styles=[STARRY])
    image = load_image(STARRY, 40)[None]
    out = load_model(LEGACY_STYLIZER, backend="eager").run(image)
    assert out.shape == image.shape


def test_no_two_modules_share_a_file_name():
    names = [p.name for p in (ROOT / "stylenet").rglob("*.py") if p.name != "__init__.py"]
    assert sorted(names) == sorted(set(names))
