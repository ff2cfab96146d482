"""stylenet: feed-forward image networks trained on perceptual losses, with PyTorch Lightning and Hydra.

    from stylenet import VGGEncoder, PerceptualLoss, GramLoss, ContentLoss, TransformNet, Stylizer
    from stylenet import load_model, stylize, load_checkpoint

Names are imported on first use, so ``import stylenet`` stays light and inference never imports Lightning.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "VGGEncoder": "stylenet.vgg",
    "PerceptualLoss": "stylenet.losses",
    "ContentLoss": "stylenet.losses",
    "GramLoss": "stylenet.losses",
    "CrossLayerLoss": "stylenet.losses",
    "MeanStdLoss": "stylenet.losses",
    "TotalVariationLoss": "stylenet.losses",
    "TransformNet": "stylenet.models",
    "MetaTransformNet": "stylenet.models",
    "StyleEmbedding": "stylenet.models",
    "ArbitraryStyleNet": "stylenet.models",
    "get_model": "stylenet.models",
    "list_models": "stylenet.models",
    "Stylizer": "stylenet.systems",
    "MetaStylizer": "stylenet.systems",
    "load_checkpoint": "stylenet.checkpoint",
    "Model": "stylenet.inference",
    "StyleOptions": "stylenet.inference",
    "load_model": "stylenet.inference",
    "load_metanet": "stylenet.inference",
    "stylize": "stylenet.inference",
    "export_all": "stylenet.exporters",
    "load_image": "stylenet.imageio",
    "save_image": "stylenet.imageio",
}
_ALIASES = {"load_checkpoint": "load"}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'stylenet' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
