"""Fixtures for the export and stylise tests: a real checkpoint from a real Lightning Trainer, real photos."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

from stylenet.imageio import load_image
from stylenet.losses import ContentLoss, GramLoss, PerceptualLoss
from stylenet.models import TransformNet
from stylenet.systems import Stylizer
from stylenet.vgg import VGGEncoder

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STYLENET_SHARED", ROOT.parent / "shared")).resolve()
VGG16 = SHARED / "weights/vgg16_imagenet_features.pth"
STARRY = SHARED / "images/style/fast_neural_style/starry_night.jpg"
KODAK = sorted((SHARED / "images/content/kodak24").glob("*.jpg"))
NEURAL_STYLE = SHARED / "images/content/neural_style"  # non-square photos: landscape and portrait
TUBINGEN = NEURAL_STYLE / "tubingen.jpg"

# A narrow Johnson net: the real architecture (model group of conf/), small enough for CPU tests.
MODEL_OVERRIDES = {"channels": 8, "num_blocks": 2}


def model_config() -> dict:
    config = OmegaConf.to_container(OmegaConf.load(ROOT / "conf/model/johnson.yaml"), resolve=True)
    return {**config, **MODEL_OVERRIDES}


def train_checkpoint(path: Path, steps: int = 2) -> Path:
    """Train a small net for ``steps`` real steps on Kodak crops and save a Lightning checkpoint at ``path``."""
    L.seed_everything(0)
    loss = PerceptualLoss(
        VGGEncoder("vgg16", VGG16),
        content=ContentLoss(["relu2_2"], weight=1e5),
        style=[GramLoss(["relu1_2", "relu2_2", "relu3_3"], weight=1e10)],
    )
    system = Stylizer(TransformNet(**MODEL_OVERRIDES), loss, STARRY, style_size=64)
    system.run_config = {"model": model_config(), "style": {"name": "starry"}}
    crops = [load_image(p, 64)[:, :40, :40] for p in KODAK[:4]]
    trainer = L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(system, DataLoader(torch.stack(crops), batch_size=2))
    trainer.save_checkpoint(path)
    return path


@pytest.fixture(scope="module", name="checkpoint")
def checkpoint_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_checkpoint(tmp_path_factory.mktemp("run") / "last.ckpt")
