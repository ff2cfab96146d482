"""Perceptual losses on named VGG taps; plain ``nn.Module``s usable without Lightning."""

from stylenet.losses.base import FeatureLoss, StyleLoss
from stylenet.losses.content import ContentLoss
from stylenet.losses.crosslayer import CrossLayerLoss, cross_layer_matrix, pool_to
from stylenet.losses.gram import GramLoss, gram_matrix
from stylenet.losses.perceptual import PerceptualLoss
from stylenet.losses.tv import TotalVariationLoss

__all__ = [
    "ContentLoss",
    "CrossLayerLoss",
    "FeatureLoss",
    "GramLoss",
    "PerceptualLoss",
    "StyleLoss",
    "TotalVariationLoss",
    "cross_layer_matrix",
    "gram_matrix",
    "pool_to",
]
