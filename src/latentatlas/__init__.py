"""Latent Atlas: map, steer and translate the latent spaces of generative models.

    run = latentatlas.fit("vae", "shapes", "runs/s", epochs=1, latent_dim=4)
    run = latentatlas.Run.open("runs/s")
    model = latentatlas.load("runs/s")
"""

from .models import LatentModel, load, wrap
from .version import __version__

__all__ = ["LatentModel", "Run", "__version__", "fit", "load", "sweep", "wrap"]


def __getattr__(name: str):
    # fit and Run pull in the analysis layer (scikit-learn and more): only when first asked for
    if name in ("Run", "fit", "sweep"):
        from . import runs

        return getattr(runs, name)
    raise AttributeError(f"module 'latentatlas' has no attribute {name!r}")
