"""Translating between latent spaces: maps between two models' codes, and how alike they are."""

from .maps import LinearMap, MLPMap, ProcrustesMap, make_map
from .relative import relative, relative_agreement
from .similarity import cka, shuffled_null, svcca

__all__ = ["LinearMap", "MLPMap", "ProcrustesMap", "cka", "make_map", "relative",
           "relative_agreement", "shuffled_null", "svcca"]
