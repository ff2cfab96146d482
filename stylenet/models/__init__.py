"""Image networks (plain ``nn.Module``s) and the registry that builds them by name.

    net = get_model("transform_net", channels=32, num_blocks=5)
    spec = model_spec(net)        # {"name": "transform_net", "args": {...}}: what a checkpoint records
    same = get_model(spec["name"], **spec["args"])

A registered class records the arguments it was built with in ``builder_args`` (plain values only), so
any instance, however it was made, can be rebuilt from its name and arguments, never an import path.
"""

from stylenet.models.meta_transform_net import ArbitraryStyleNet, MetaTransformNet, StyleEmbedding
from stylenet.models.registry import get_model, list_models, model_spec, register_model
from stylenet.models.super_resolution_net import SuperResolutionNet
from stylenet.models.transform_net import ResidualBlock, ResNeXtBlock, TransformNet

__all__ = [
    "ArbitraryStyleNet",
    "MetaTransformNet",
    "ResNeXtBlock",
    "ResidualBlock",
    "StyleEmbedding",
    "SuperResolutionNet",
    "TransformNet",
    "get_model",
    "list_models",
    "model_spec",
    "register_model",
]
