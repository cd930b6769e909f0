"""What every explainer shares: the one result type, the method names, class probabilities,
the target class, and LIME's weighted ridge fit."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..data.base import class_index

METHODS = ("saliency", "gradxinput", "ig", "occlusion", "lime")


@dataclass
class Attribution:
    """Per-token (text) or per-pixel (image) scores of one explanation and what they explain."""

    tokens: list[str] | None  # None for an image
    scores: np.ndarray  # (n_tokens,) for a text, (H, W) for an image
    target: str
    prediction: str
    probability: float  # of the target class
    method: str
    params: dict = field(default_factory=dict)
    segments: np.ndarray | None = None  # image occlusion/LIME: (H, W) feature id of each pixel

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "scores": np.round(self.scores, 6).tolist(),
                "target": self.target, "prediction": self.prediction,
                "probability": round(self.probability, 6), "method": self.method,
                "params": self.params}

    def features(self) -> np.ndarray:
        """One score per feature the method scored: tokens, pixels, or an image's squares or
        superpixels (occlusion and LIME)."""
        if self.segments is None:
            return self.scores.ravel()
        _, first = np.unique(self.segments.ravel(), return_index=True)
        return self.scores.ravel()[first]

    def top(self, k: int = 1) -> list[int]:
        """Indices of the k highest-scoring tokens (of the flattened pixels for an image)."""
        return [int(i) for i in np.argsort(-self.scores.ravel(), kind="stable")[:k]]


def resolve_target(model, target: str | None, probs: torch.Tensor | None = None) -> int:
    """The index of class ``target`` (its name, matched by ``data.class_index``: case and ``_``
    for a space do not matter), or of the predicted class when None."""
    if target is None:
        return int(probs.argmax())
    return class_index(model.config.classes, target)


def class_probabilities(model, x: torch.Tensor, batch: int = 2048) -> torch.Tensor:
    """(N, classes) softmax of a classifier's logits for N inputs (ids or images), in no-grad
    batches."""
    with torch.no_grad():
        return torch.cat([torch.softmax(model.logits(x[i:i + batch]), -1)
                          for i in range(0, len(x), batch)])


def lime_fit(masks: np.ndarray, y: np.ndarray, kernel_width: float,
             distance_scale: float = 1.0) -> np.ndarray:
    """LIME's local linear model: (S, n) 0/1 masks (row 0 the whole input) and the target
    probability of each masked input -> n coefficients. Each sample is weighted by the
    exponential kernel sqrt(exp(-d^2 / width^2)) on its cosine distance d to the whole input
    (times ``distance_scale``), then a ridge fit (alpha 1, unpenalised intercept), in closed
    form."""
    n = masks.shape[1]
    cos = masks.sum(1) / (np.sqrt(masks.sum(1)) * np.sqrt(n) + 1e-12)
    d = (1 - cos) * distance_scale
    w = np.sqrt(np.exp(-(d ** 2) / kernel_width ** 2))
    x = np.hstack([masks, np.ones((len(masks), 1))])
    r = np.sqrt(w)  # weighted least squares: scale each row by sqrt(weight)
    xw, yw = x * r[:, None], y * r
    reg = np.eye(n + 1)
    reg[-1, -1] = 0  # the intercept is not penalised
    coef = np.linalg.solve(xw.T @ xw + reg, xw.T @ yw)
    return coef[:n]
