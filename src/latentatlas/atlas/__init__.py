"""Latent operations over any model that follows the protocol.

Encoding and caching codes, interpolation (lerp, slerp, grids), sampling, active units, PCA
knobs, and 2-D maps of the data.
"""

from .codes import Codes, encode, run_codes
from .interpolate import grid, interpolate, lerp, slerp
from .knobs import Knobs
from .maps import embed_2d
from .sampling import sample
from .units import UnitStats, unit_stats

__all__ = [
    "Codes", "Knobs", "UnitStats", "embed_2d", "encode", "grid", "interpolate", "lerp",
    "run_codes", "sample", "slerp", "unit_stats",
]
