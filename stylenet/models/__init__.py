"""Stylisation networks (plain ``nn.Module``s)."""

from stylenet.models.transform_net import ResidualBlock, ResNeXtBlock, TransformNet

__all__ = ["ResNeXtBlock", "ResidualBlock", "TransformNet"]
