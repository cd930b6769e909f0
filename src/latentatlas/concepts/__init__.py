"""Human concepts as measured directions in latent space.

Find a direction (mean difference of labelled groups, a linear probe, paired edits, a property
regression), walk along it while measuring identifiers (height, width, brightness, ...), and
quantify what else it changes (leakage).
"""

from .directions import Concept, LinearProbe, MeanDifference, PairedEdits, PropertyRegression
from .edits import EDITS, apply_edit
from .properties import PROPERTIES, measure
from .store import get_concept, load_concepts, save_concept
from .traversal import Effect, measure_effect, parse_alphas, slopes_per_item, traverse

__all__ = [
    "EDITS", "PROPERTIES", "Concept", "Effect", "LinearProbe", "MeanDifference", "PairedEdits",
    "PropertyRegression", "apply_edit", "get_concept", "load_concepts", "measure",
    "measure_effect", "parse_alphas", "save_concept", "slopes_per_item", "traverse",
]
