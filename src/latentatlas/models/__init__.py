"""Models: the image VAE/AE, the model protocol, and run directories (save/load)."""

from .image import PRESETS, ImageModelConfig, ImageVAE
from .likelihoods import LIKELIHOODS, make_likelihood
from .protocol import LatentModel, WrappedModel, wrap
from .run import load, read_config, read_metrics

__all__ = [
    "LIKELIHOODS", "PRESETS", "ImageModelConfig", "ImageVAE", "LatentModel", "WrappedModel",
    "load", "make_likelihood", "read_config", "read_metrics", "wrap",
]
