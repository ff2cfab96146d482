"""Shared test fixtures: paths of the real data in ../shared and Hydra composition of train.py's config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import stylenet.config  # noqa: F401 - registers ${mul:}

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STYLENET_SHARED", ROOT.parent / "shared")).resolve()
WEIGHTS = SHARED / "weights"
IMAGES = SHARED / "images"
VGG16 = WEIGHTS / "vgg16_imagenet_features.pth"
VGG19 = WEIGHTS / "vgg19_normalised_features_fp16.pth"
STARRY = IMAGES / "style/fast_neural_style/starry_night.jpg"
KODAK = sorted((IMAGES / "content/kodak24").glob("*.jpg"))

# Small, fast training settings on real data: tiny crops, a narrow net, no workers.
FAST = [
    "data.image_size=32",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.val_size=2",
    "data.max_images=8",
    "model.channels=8",
    "model.num_blocks=1",
    "style.size=64",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def compose_train(output_dir: Path, overrides: list[str] = ()) -> DictConfig:
    """train.py's config with ``overrides``, writing everything under ``output_dir``."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(
            "train",
            overrides=[f"paths.shared={SHARED}", f"paths.output_dir={output_dir}", *FAST, *overrides],
        )


@pytest.fixture(scope="session")
def vgg16():
    from stylenet.vgg import VGGEncoder

    return VGGEncoder("vgg16", VGG16)
