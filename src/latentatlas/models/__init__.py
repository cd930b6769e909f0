"""Models: the model files, the registry of kinds, the model protocol, and run directories
(save/load)."""

from .image import PRESETS, ImageModelConfig, ImageVAE
from .kinds import KINDS, Kind, get_kind, register
from .likelihoods import LIKELIHOODS, make_likelihood
from .protocol import LatentModel, WrappedModel, wrap
from .rundir import load, read_config, read_metrics, run_kind

__all__ = [
    "KINDS", "LIKELIHOODS", "PRESETS", "ImageModelConfig", "ImageVAE", "Kind", "LatentModel",
    "WrappedModel", "get_kind", "load", "make_likelihood", "read_config", "read_metrics",
    "register", "run_kind", "wrap",
]
