"""Meta-network stylizer: generated weights, per-sample styles, checkpoints, blending, and real learning."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image
from torch import nn

from stylenet.checkpoint import file_sha256
from stylenet.cli import main
from stylenet.data.content_style import RepeatedStyleSampler
from stylenet.evaluation import transfer_scores
from stylenet.imageio import load_image
from stylenet.inference import Model, StyleOptions, image_network, load_metanet, stylize, trained_size
from stylenet.losses import ContentLoss, GramLoss, MeanStdLoss, PerceptualLoss, mean_std
from stylenet.metrics import STYLE_TAPS, style_distance
from stylenet.models import ArbitraryStyleNet, TransformNet
from stylenet.models.meta_transform_net import Head, MetaTransformNet, StyleEmbedding, generated_convs
from stylenet.runtimes import switch_with_onnxruntime
from stylenet.synthetic_clips import save_clip, synthetic_clip
from stylenet.vgg import VGGEncoder
from tests.conftest import IMAGES, KODAK, ROOT, SHARED, STARRY

TAPS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CANDY = IMAGES / "style/fast_neural_style/candy.jpg"


@pytest.fixture(scope="module")
def embedding(vgg16) -> StyleEmbedding:
    return StyleEmbedding(vgg16, TAPS)


@pytest.fixture(scope="module")
def styles() -> torch.Tensor:
    """Two real style images, ``(2, 3, 64, 64)``."""
    return torch.stack([F.interpolate(load_image(p, 64)[None], size=(64, 64))[0] for p in (STARRY, CANDY)])


def small_metanet(block: str = "residual") -> MetaTransformNet:
    torch.manual_seed(0)
    return MetaTransformNet(channels=8, num_blocks=2, block=block, group_width=16)


def test_embedding_is_mean_and_std_of_each_tap(embedding, styles):
    features = embedding.encoder(styles, TAPS)
    manual = torch.cat([mean_std(features[t]) for t in TAPS], dim=1)
    assert embedding.dim == 1920
    assert torch.allclose(embedding(styles), manual)
    assert torch.allclose(manual[:, :64], features["relu1_2"].mean((2, 3)))


def test_embedding_reads_style_images_at_its_size(vgg16, styles):
    small = StyleEmbedding(vgg16, TAPS, size=32)
    resized = small.resize(styles)
    assert resized.shape[-2:] == (32, 32)
    assert torch.allclose(small(styles), StyleEmbedding(vgg16, TAPS)(resized))
    assert small.resize(resized) is resized
    assert small.resize(torch.rand(1, 3, 50, 100)).shape[-2:] == (16, 32)


@pytest.mark.parametrize("block", ["residual", "resnext"])
def test_generated_weights_have_the_transform_nets_shapes(block):
    net = small_metanet(block)
    reference = TransformNet(channels=8, num_blocks=2, block=block)
    params = net.generate(net.code(torch.randn(3, 1920)))
    generated_layers = set(net.convs) | {f"{c.rsplit('.', 1)[0]}.{int(c.rsplit('.', 1)[1]) + 1}" for c in net.convs}
    expected = {k: v.shape for k, v in reference.state_dict().items() if k.rsplit(".", 1)[0] in generated_layers}
    assert {k: v.shape[1:] for k, v in params.items()} == expected
    norms = [k for k in expected if isinstance(reference.get_submodule(k.rsplit(".", 1)[0]), nn.InstanceNorm2d)]
    assert len(norms) == 2 * len(net.convs), "each generated conv's instance norm gets a generated scale and shift"
    assert all(v.shape[0] == 3 for v in params.values())
    names = generated_convs(reference)
    assert "encoder.0.1" not in names and "decoder.2.1" not in names  # the 9x9 in/out convs stay trained
    if block == "resnext":  # grouped 3x3 branches stay ordinary parameters
        assert all(reference.get_submodule(n).groups == 1 for n in names)
        assert "net.blocks.0.body.1.1.weight" in dict(net.named_parameters())


def test_generated_conv_equals_a_regular_conv_loaded_with_the_weights():
    net = small_metanet()
    code = net.code(torch.randn(1, 1920))
    images = torch.rand(2, 3, 36, 44)
    baked = net.bake(net.generate(code))
    name = net.convs[0]
    conv, regular = baked.get_submodule(name), nn.Conv2d(8, 16, 3, stride=2)
    regular.load_state_dict(conv.state_dict())
    x = torch.rand(2, 8, 20, 20)
    assert torch.allclose(conv(x), regular(x))
    params = net.generate(code)
    functional = F.conv2d(x, params[f"{name}.weight"][0], params[f"{name}.bias"][0], stride=2)
    assert torch.allclose(functional, regular(x), atol=1e-6)
    assert torch.allclose(net.stylize(images, params), baked(images), atol=1e-6)


def test_two_styles_in_one_batch_stylise_differently(embedding, styles):
    net = small_metanet()
    content = torch.rand(1, 3, 48, 48).expand(2, -1, -1, -1)
    with torch.no_grad():
        codes = net.code(embedding(styles))
        both = net.stylize(content, net.generate(codes))
        each = [net.stylize(content[:1], net.generate(codes[i : i + 1])) for i in range(2)]
    assert (both[0] - both[1]).abs().mean() > 1e-3
    assert torch.allclose(both[0], each[0][0], atol=1e-5) and torch.allclose(both[1], each[1][0], atol=1e-5)


def test_every_parameter_is_saved_moved_and_trained():
    net = small_metanet()
    state = net.state_dict()
    assert set(state) == {k for k, _ in net.named_parameters()} | {k for k, _ in net.named_buffers()}
    generated = {f"net.{name}" for names in net.generated for name in names}
    assert generated and not generated & set(state)  # no stale copies of generated parameters
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = small_metanet()
    torch.manual_seed(1)
    for p in loaded.parameters():
        nn.init.normal_(p)
    loaded.load_state_dict(torch.load(buffer))
    images, embedding = torch.rand(1, 3, 32, 32), torch.randn(1, 1920)
    assert torch.equal(net(images, embedding), loaded(images, embedding))
    moved = net.to(torch.float64)
    assert all(p.dtype == torch.float64 for p in moved.parameters())
    assert moved(images.double(), embedding.double()).dtype == torch.float64
    loss = net.float()(images, embedding).mean()
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())


def test_interpolating_one_style_with_weight_one_equals_that_style(embedding, styles):
    model = ArbitraryStyleNet(embedding, small_metanet()).eval()
    content = torch.rand(1, 3, 40, 40)
    single = model(content, model.style_code([styles[0]]))
    assert torch.equal(model.style_code([styles[0], styles[1]], [1.0, 0.0]), model.style_code([styles[0]]))
    assert torch.allclose(model(content, model.style_code([styles[0], styles[1]], [1.0, 0.0])), single)
    halfway = model.style_code([styles[0], styles[1]], [0.5, 0.5])
    ends = model.style_code([styles[0]]), model.style_code([styles[1]])
    assert torch.allclose(halfway, (ends[0] + ends[1]) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="weights"):
        model.style_code([styles[0]], [1.0, 2.0])


def test_head_is_a_linear_map_with_its_weight_stored_transposed():
    bias = torch.randn(40)
    head = Head(16, bias)
    assert head.weight.shape == (16, 40) and torch.equal(head.bias, bias)
    x = torch.randn(3, 16)
    assert torch.allclose(head(x), F.linear(x, head.weight.t(), bias), atol=1e-6)


def test_onnxruntime_style_switch_gives_the_eager_code_and_weights(vgg16, tmp_path):
    model = ArbitraryStyleNet(StyleEmbedding(vgg16, TAPS, size=48), small_metanet()).eval()
    style = load_image(CANDY, 100)  # not square, resized to 48 px by the embedding
    eager = model.style_code([style])
    eager_weights = model.generate(eager)
    switch_with_onnxruntime(model, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {"style_code.onnx", "weights.onnx"}
    code = model.style_code([style])
    assert torch.allclose(code, eager, atol=1e-5)
    assert not torch.allclose(model.style_code([load_image(STARRY, 100)]), eager, atol=1e-3)
    weights = model.generate(torch.cat([code, model.style_code([load_image(STARRY, 100)])]))
    assert weights.keys() == eager_weights.keys()
    for name, value in eager_weights.items():
        assert weights[name].shape == (2, *value.shape[1:])
        assert torch.allclose(weights[name][:1], value, atol=1e-5)
    content = torch.rand(1, 3, 40, 40)
    assert torch.allclose(model.bake(code)(content), model.net.bake(eager_weights)(content), atol=1e-5)


def test_generated_gain_is_capped():
    net = MetaTransformNet(channels=8, num_blocks=1, group_width=16, max_gain=0.5)
    with torch.no_grad():
        for head in net.heads:
            head.weight.mul_(1e3)
        params = net.generate(net.code(torch.randn(2, 1920)))
    from stylenet.models.meta_transform_net import gain

    gains = torch.stack([gain(params[f"{conv}.weight"]) for conv in net.convs])
    assert gains.max() <= 0.5 + 1e-5


def test_mean_std_loss_is_finite_on_a_flat_colour_crop(vgg16):
    loss = PerceptualLoss(vgg16, ContentLoss(["relu2_2"]), [MeanStdLoss(TAPS), GramLoss(TAPS)])
    loss.set_style(torch.full((1, 3, 32, 32), 0.5))
    output = torch.full((1, 3, 32, 32), 0.3, requires_grad=True)
    loss(output, output.detach())["total"].backward()
    assert torch.isfinite(output.grad).all()


def test_meanstd_loss_matches_its_definition(vgg16, styles):
    features = vgg16(styles, TAPS)
    loss = MeanStdLoss({"relu2_2": 2.0}, weight=3.0)
    loss.set_target({k: v[:1] for k, v in features.items()})
    s_out, s_style = mean_std(features["relu2_2"][1:]), mean_std(features["relu2_2"][:1])
    expected = 3.0 * 2.0 * (s_out - s_style).pow(2).mean()
    assert torch.allclose(loss({k: v[1:] for k, v in features.items()})["meanstd/relu2_2"], expected)


def test_sampler_keeps_each_style_for_style_every_steps():
    order = list(RepeatedStyleSampler(num_styles=6, repeats=3, styles_per_batch=2, seed=1))
    groups = [order[i : i + 2] for i in range(0, len(order), 2)]
    assert len(groups) == 9 and all(groups[i] == groups[i - i % 3] for i in range(9))
    assert sorted(set(order)) == list(range(6))


def compose_metanet(output_dir: Path, overrides: list[str]) -> DictConfig:
    """train.py's config for experiment=metanet2017, sized for a CPU, writing under ``output_dir``."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(
            "train",
            overrides=[
                "experiment=metanet2017",
                "model=metanet8",
                "trainer=cpu",
                f"paths.shared={SHARED}",
                f"paths.output_dir={output_dir}",
                "data.content.num_workers=0",
                "trainer.enable_progress_bar=false",
                "trainer.enable_model_summary=false",
                *overrides,
            ],
        )


# A tiny meta network trained for a couple of steps on real photos and styles: enough to test the plumbing.
TINY = [
    "model.num_blocks=1",
    "model.group_width=8",
    "data.content.image_size=32",
    "data.style.image_size=32",
    "data.content.batch_size=2",
    "data.styles_per_batch=2",
    "data.content.max_images=4",
    "data.style.max_images=4",
    "data.content.val_size=2",
    "data.style.val_size=2",
    "data.style_every=2",
    "trainer.val_check_interval=2",
    "callbacks.sample_grid.every_n_steps=2",
]


def test_training_writes_a_checkpoint_that_loads_and_resumes(tmp_path):
    from train import train

    train(compose_metanet(tmp_path / "a", [*TINY, "trainer.max_steps=2", "system.embedding_size=24"]))
    checkpoint = tmp_path / "a/checkpoints/last.ckpt"
    saved = torch.load(checkpoint, weights_only=False)
    metanet = saved["stylenet"]["metanet"]
    assert {k: metanet[k] for k in ("arch", "taps", "embedding_size")} == {
        "arch": "vgg16",
        "taps": list(TAPS),
        "embedding_size": 24,
    }
    assert metanet["style_size"] == metanet["content_size"] == 32 and saved["stylenet"]["kind"] == "metanet"
    assert all(k.startswith("net.") for k in saved["state_dict"])
    assert (tmp_path / "a/samples/last.png").is_file()
    model = load_metanet(checkpoint)
    assert model.embedding.size == 24
    content = torch.rand(1, 3, 32, 32)
    code = model.style_code([load_image(STARRY, 32)])
    assert torch.allclose(model.bake(code)(content), model(content, code), atol=1e-6)
    resumed = compose_metanet(tmp_path / "b", [*TINY, "trainer.max_steps=4", f"ckpt_path={checkpoint}"])
    train(resumed)
    assert torch.load(tmp_path / "b/checkpoints/last.ckpt", weights_only=False)["global_step"] == 4


def test_loading_a_single_style_checkpoint_as_a_metanet_fails_clearly(tmp_path):
    path = tmp_path / "johnson.ckpt"
    johnson = {"config": {"model": {"_target_": "stylenet.models.TransformNet"}}, "style": {}}
    torch.save({"state_dict": {}, "stylenet": johnson}, path)
    with pytest.raises(ValueError, match="not a meta-network checkpoint"):
        load_metanet(path)


def test_stylize_and_export_a_metanet_checkpoint_for_given_styles(tmp_path):
    import export as export_script
    from train import train

    train(compose_metanet(tmp_path / "run", [*TINY, "trainer.max_steps=1"]))
    checkpoint = tmp_path / "run/checkpoints/last.ckpt"
    photo = KODAK[0]

    def stylize(name: str, *style_args: str) -> torch.Tensor:
        output = tmp_path / name
        args = ["stylize", str(photo), "-m", str(checkpoint), "-o", str(output), "--size", "64", "--quiet"]
        assert main([*args, "--backend", "eager", *style_args]) == 0
        return load_image(output / photo.name)

    starry = stylize("starry", "--style", str(STARRY))
    only_starry = stylize("blend", "--style", str(STARRY), str(CANDY), "--style-blend", "1", "0")
    candy = stylize("candy", "--style", str(CANDY))
    assert starry.shape[-2:] == load_image(photo, 64).shape[-2:]
    assert (starry - only_starry).abs().max() <= 2 / 255, "a blend with weight 1 on one style is that style"
    assert (starry - candy).abs().mean() > 1e-3, "another style gives another image"
    with pytest.raises(SystemExit, match="meta-network checkpoint"):
        main(["stylize", str(photo), "-m", str(checkpoint), "-o", str(tmp_path / "none"), "--quiet"])
    with pytest.raises(ValueError, match="meta-network checkpoint"):
        image_network(checkpoint)

    clip = tmp_path / "pan.mp4"
    save_clip(synthetic_clip(np.asarray(Image.open(photo).convert("RGB")), "pan", 96, 64, 6).frames, clip)

    def stylize_clip(name: str, style: Path) -> list[np.ndarray]:
        output = tmp_path / name
        args = ["stylize", str(clip), "-m", str(checkpoint), "-o", str(output), "--style", str(style), "--quiet"]
        assert main(args) == 0
        with av.open(str(output / clip.name)) as container:
            return [frame.to_ndarray(format="rgb24").astype(float) for frame in container.decode(video=0)]

    starry_clip, candy_clip = stylize_clip("starry_clip", STARRY), stylize_clip("candy_clip", CANDY)
    assert len(starry_clip) == len(candy_clip) == 6 and starry_clip[0].shape == (64, 96, 3)
    assert np.abs(starry_clip[0] - candy_clip[0]).mean() > 1, "the clip takes the given style"

    stem = tmp_path / "exported/starry"
    assert export_script.main([str(checkpoint), "--style", str(STARRY), "-o", str(stem), "--check-size", "67"]) == 0
    sidecar = json.loads(stem.with_suffix(".json").read_text())
    assert sidecar["style"]["image"] == STARRY.name and sidecar["style"]["sha256"] == [file_sha256(STARRY)]
    assert sidecar["max_abs_difference_from_eager"]["onnx"] < 1e-3
    assert stem.with_suffix(".onnx").is_file() and stem.with_suffix(".pt").is_file()


# Learning: base 8 at 128 px, a new style for each image of each step, trained on 400 photos and every shared style
# but the 8 held out, scored on 8 held-out photos with the 8 held-out styles. About 25 minutes on 2 cores.
LEARNING = [
    "trainer.max_steps=1000",
    "loss=gram",
    "style.content_weight=1e5",
    "data.style_every=1",
    "data.styles_per_batch=4",
    "data.content.image_size=128",
    "data.style.image_size=128",
    "data.content.batch_size=4",
    "data.content.max_images=400",
    "data.content.val_size=8",
    "data.style.val_size=8",
    "system.embedding_size=48",
    "trainer.val_check_interval=100000",
    "+trainer.limit_val_batches=0",
    "callbacks.sample_grid.every_n_steps=0",
]
# The output's relu2_2 content loss against its own photo, over its mean against the other held-out photos: 1 means
# the photo's content is lost. Johnson's single-style net (python train.py style=starry data.image_size=128
# trainer.max_steps=400) scores 0.86 on Kodak photos.
CONTENT_BOUND = 0.9
# How far the style distance at 768 px may drift from the one at 384 px under the trained working size: 5% for the
# plain-Gram metanet_cpu run of the README's first meta-network row (native: 37%).
SIZE_MARGIN = 0.15


@pytest.mark.slow
def test_short_run_transfers_held_out_styles_to_held_out_photos(tmp_path, vgg16):
    from train import train

    cfg = compose_metanet(tmp_path, LEARNING)
    train(cfg)
    data = instantiate(cfg.data)
    data.setup("validate")
    pairs = [data.val_set[i] for i in range(len(data.val_set))]
    content, styles = torch.stack([p["content"] for p in pairs]), torch.stack([p["style"] for p in pairs])
    model = load_metanet(tmp_path / "checkpoints/last.ckpt")
    scores = transfer_scores(model, vgg16, content, styles)
    print(scores)
    assert scores["gram_ratio"] <= 0.5
    assert scores["content_own_vs_other"] <= CONTENT_BOUND
    # The size policy: the held-out photos and artworks at a longest side of 384 and of 768 px, stylised the way
    # stylenet stylize does by default (at the 128-px shorter side the net was trained at, upscaled back), keep
    # their style distance to the artwork at their size within SIZE_MARGIN; run at their own size, the 768-px
    # outputs are 1.4x further from the artwork than the 384-px ones (a random-weight VGG would not tell).
    files = {part: [Path(getattr(data, part).val_set.images[i][getattr(data, part).val_set.column]["path"])
                    for i in range(4)] for part in ("content", "style")}  # fmt: skip
    nets = [model.bake(model.style_code([load_image(art, model.style_size)])) for art in files["style"]]
    trained = trained_size(model.metadata)
    assert trained == 128
    policy = {size: size_style_distance(vgg16, nets, files, size, trained) for size in (384, 768)}
    native = {size: size_style_distance(vgg16, nets, files, size, None) for size in (384, 768)}
    print("style distance at 384 and 768 px, trained working size:", policy, "native:", native)
    assert abs(policy[768] / policy[384] - 1) <= SIZE_MARGIN
    assert native[768] / native[384] > 1 + SIZE_MARGIN, "the check tells a size-dependent texture"


def size_style_distance(
    encoder: VGGEncoder, nets: list[TransformNet], files: dict[str, list[Path]], size: int, working: int | None
) -> float:
    """Mean style distance (``encoder``, relu1_1 ... relu5_1) of every photo of ``files["content"]`` stylised by
    each net (made for the artwork of ``files["style"]`` with its index) at a longest side of ``size``, against the
    artwork at that size, with ``working_size`` ``working``."""
    distances = []
    with torch.inference_mode():
        for net, art in zip(nets, files["style"], strict=True):
            target = encoder(load_image(art, size)[None], STYLE_TAPS)
            model = Model(net, "eager", torch.device("cpu"), net)
            for photo in files["content"]:
                out = stylize(model, load_image(photo, size)[None], StyleOptions(working_size=working))
                distances.append(style_distance(encoder(out, STYLE_TAPS), target).item())
    return sum(distances) / len(distances)
