"""stylenet: feed-forward neural style transfer with PyTorch Lightning and Hydra."""

__version__ = "0.1.0"
