"""Explaining predictions: token attributions for text classifiers (saliency, gradient x input,
integrated gradients, occlusion, LIME), one result type for all."""

from .attribution import METHODS, Attribution, explain_text

__all__ = ["METHODS", "Attribution", "explain_text"]
