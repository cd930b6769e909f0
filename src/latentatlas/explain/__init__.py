"""Explaining predictions: token attributions for text classifiers and pixel attributions for
image classifiers (saliency, gradient x input, integrated gradients, occlusion, LIME), one
result type for all; checks of faithfulness; RNN cells; attention; activation maximisation."""

from .attribute import explain
from .core import IMAGE_METHODS, METHODS, Attribution
from .images import explain_image
from .tokens import explain_text

__all__ = ["IMAGE_METHODS", "METHODS", "Attribution", "explain", "explain_image", "explain_text"]
