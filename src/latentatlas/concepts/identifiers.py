"""Trained identifiers: measure a concept on an image with a fitted model, not a formula.

- ``ProbeIdentifier``: a saved probe concept read through the model's own encoder: the probe's
  logit w . mu(x) + b (how far an image sits on the positive side of the probe's boundary);
- ``PixelClassifier``: a logistic regression on the pixels, one class against the rest, trained
  on labelled images: its logit says how much an image looks like that class to a model that
  never saw the latent space.

Both are callables (N, C, H, W) -> (N,), like the built-in properties, so traversals measure
them the same way.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import UserError
from ..models.protocol import LatentModel
from .directions import Concept


class ProbeIdentifier:
    """The logit of a probe concept on the codes of images."""

    def __init__(self, model: LatentModel, concept: Concept):
        if concept.method != "probe":
            raise UserError(f"concept {concept.name!r} was found by {concept.method}, not by a "
                            "probe: it has no decision boundary to measure with")
        self.model, self.concept = model, concept
        self.w = concept.vector * concept.scores.get("norm", 1.0)
        self.b = concept.scores.get("intercept", 0.0)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        mu = self.model.encode(images)[0].float()
        return mu @ self.w + self.b


class PixelClassifier:
    """One class against the rest, logistic regression on the raw pixels; ``fit`` then call.

    Fitted state: ``auc_`` on a held-out quarter of the training items.
    """

    def __init__(self, label: int, max_items: int = 10_000, seed: int = 0):
        self.label, self.max_items, self.seed = label, max_items, seed

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> PixelClassifier:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import train_test_split

        rng = np.random.default_rng([self.seed, 0x1D])
        idx = rng.permutation(len(x))[: self.max_items]
        flat = x[idx].flatten(1).double().numpy()
        target = (y[idx] == self.label).numpy()
        if target.all() or not target.any():
            raise UserError("a pixel classifier needs items of the class and of other classes")
        xa, xb, ya, yb = train_test_split(flat, target, test_size=0.25, random_state=self.seed,
                                          stratify=target)
        clf = LogisticRegression(C=0.1, max_iter=500).fit(xa, ya)
        self.auc_ = float(roc_auc_score(yb, clf.decision_function(xb)))
        self.coef_ = torch.from_numpy(clf.coef_[0]).float()
        self.intercept_ = float(clf.intercept_[0])
        return self

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1).float() @ self.coef_ + self.intercept_
