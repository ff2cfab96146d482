"""Learning is real: a short CPU run on real photos with real VGG16 weights lowers the style loss."""

from __future__ import annotations

import time

import pytest
import torch
from conftest import compose_train
from hydra.utils import instantiate

from train import train

STEPS, SIZE = 150, 64


@pytest.mark.slow
def test_short_run_lowers_gram_style_loss_on_held_out_photos(tmp_path):
    overrides = [
        f"trainer.max_steps={STEPS}", f"data.image_size={SIZE}", "data.batch_size=4", "data.max_images=null",
        "data.val_size=8", "style.size=256", "trainer.val_check_interval=50",
        "callbacks.model_checkpoint.every_n_train_steps=50",
    ]  # fmt: skip
    cfg = compose_train(tmp_path, overrides)
    start = time.perf_counter()
    train(cfg)
    seconds = time.perf_counter() - start

    loss = instantiate(cfg.loss, encoder=instantiate(cfg.backbone))
    system = instantiate(cfg.system, net=instantiate(cfg.model), loss=loss)  # sets the style targets
    held_out = instantiate(cfg.data)
    held_out.setup("fit")
    photos = torch.stack([held_out.val_set[i] for i in range(len(held_out.val_set))])

    def gram_style_loss(net: torch.nn.Module) -> tuple[float, torch.Tensor]:
        with torch.no_grad():
            output = net(photos)
            terms = loss(output)
        return sum(v.item() for k, v in terms.items() if k.startswith("gram/")), output

    torch.manual_seed(1)
    before, _ = gram_style_loss(instantiate(cfg.model).eval())
    trained = instantiate(cfg.model)
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    trained.load_state_dict({k.removeprefix("net."): v for k, v in state.items()})
    after, output = gram_style_loss(trained.eval())
    print(f"\nlearning: {STEPS} steps at {SIZE}px batch 4 in {seconds:.0f} s; "
          f"held-out Gram style loss {before:.4g} -> {after:.4g} ({before / after:.1f}x)")  # fmt: skip
    assert system.style["image"] == "starry_night.jpg"
    assert after * 3 <= before
    per_image_std = output.flatten(2).std(dim=2).mean(dim=1)
    assert (per_image_std > 0.05).all(), "stylised images must not be flat"
    assert (output[0] - output[1]).abs().mean() > 0.05, "different photos must give different outputs"
