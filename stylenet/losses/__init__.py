"""Perceptual losses on named VGG taps; plain ``nn.Module``s usable without Lightning."""

from stylenet.losses.base import FeatureLoss, StyleLoss
from stylenet.losses.content import ContentLoss
from stylenet.losses.crosslayer import CrossLayerLoss, cross_layer_matrix, pool_to
from stylenet.losses.gram import GramLoss, gram_matrix
from stylenet.losses.meanstd import MeanStdLoss, mean_std
from stylenet.losses.perceptual import PerceptualLoss
from stylenet.losses.pixel import PixelLoss
from stylenet.losses.temporal import TemporalLoss, random_affine
from stylenet.losses.tv import TotalVariationLoss

__all__ = [
    "ContentLoss",
    "CrossLayerLoss",
    "FeatureLoss",
    "GramLoss",
    "MeanStdLoss",
    "PerceptualLoss",
    "PixelLoss",
    "StyleLoss",
    "TemporalLoss",
    "TotalVariationLoss",
    "cross_layer_matrix",
    "gram_matrix",
    "mean_std",
    "pool_to",
    "random_affine",
]
