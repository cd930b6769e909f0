"""Latent Atlas: map, steer and translate the latent spaces of generative models."""

__version__ = "0.1.0"

from .models import LatentModel, load, wrap  # noqa: E402

__all__ = ["LatentModel", "__version__", "load", "wrap"]
