"""Concepts as unit directions in latent space, and four ways to find one.

Every finder has the same small surface: ``fit(...)`` returns the finder, whose fitted state ends
in ``_``: ``direction_`` (D,) unit vector, plus the finder's own scores; ``to_concept(name)``
packages it as a ``Concept``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import UserError


@dataclass
class Concept:
    """A named unit direction in a latent space and how it was found."""

    name: str
    vector: torch.Tensor  # (D,), unit norm
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "vector": [round(float(v), 7) for v in self.vector],
                "method": self.method, "params": self.params, "scores": self.scores}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Concept:
        return cls(d["name"], torch.tensor(d["vector"], dtype=torch.float32), d["method"],
                   dict(d.get("params", {})), dict(d.get("scores", {})))


def _unit(v: torch.Tensor, what: str) -> tuple[torch.Tensor, float]:
    norm = float(v.norm())
    if not norm > 1e-12:
        raise UserError(f"{what} is the zero vector: the two groups are not separated in "
                        "latent space")
    return (v / norm).float(), norm


def _groups(pos: torch.Tensor, neg: torch.Tensor) -> None:
    for name, g in (("positive", pos), ("negative", neg)):
        if g.ndim != 2 or len(g) < 2:
            raise UserError(f"the {name} group needs at least 2 items, got {len(g)}")


class _Finder:
    method = ""

    def to_concept(self, name: str, **params: Any) -> Concept:
        scores = {k.rstrip("_"): float(v) for k, v in vars(self).items()
                  if k.endswith("_") and k != "direction_" and np.isscalar(v)}
        return Concept(name, self.direction_, self.method, params, scores)


class MeanDifference(_Finder):
    """mean(positive codes) - mean(negative codes), normalised: the "smiling vector"."""

    method = "groups"

    def fit(self, pos: torch.Tensor, neg: torch.Tensor) -> MeanDifference:
        _groups(pos, neg)
        self.direction_, self.norm_ = _unit(pos.mean(0) - neg.mean(0), "the mean difference")
        self.n_pos_, self.n_neg_ = len(pos), len(neg)
        return self


class LinearProbe(_Finder):
    """Normal of a logistic regression separating the groups (a concept activation vector).

    ``auc_`` is measured on a held-out quarter of each group (stratified, seeded) by a probe fit
    on the other three quarters; the direction comes from a probe refit on all items.
    """

    method = "probe"

    def __init__(self, C: float = 1.0, seed: int = 0):
        self.C, self.seed = C, seed

    def fit(self, pos: torch.Tensor, neg: torch.Tensor) -> LinearProbe:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import train_test_split

        _groups(pos, neg)
        x = torch.cat([pos, neg]).double().numpy()
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        if min(len(pos), len(neg)) >= 4:
            xa, xb, ya, yb = train_test_split(x, y, test_size=0.25, stratify=y,
                                              random_state=self.seed)
            held = LogisticRegression(C=self.C, max_iter=2000).fit(xa, ya)
            self.auc_ = float(roc_auc_score(yb, held.decision_function(xb)))
        probe = LogisticRegression(C=self.C, max_iter=2000).fit(x, y)
        self.direction_, self.norm_ = _unit(torch.from_numpy(probe.coef_[0]), "the probe normal")
        self.intercept_ = float(probe.intercept_[0])
        self.n_pos_, self.n_neg_ = len(pos), len(neg)
        return self


class PairedEdits(_Finder):
    """Average of code differences encode(edit(x)) - encode(x) over pairs.

    ``consistency_``: mean cosine between each pair's difference and the average (1 when every
    pair moves the same way).
    """

    method = "edit"

    def fit(self, codes: torch.Tensor, edited: torch.Tensor) -> PairedEdits:
        if codes.shape != edited.shape or len(codes) < 1:
            raise UserError("paired edits need the same number (at least 1) of originals and "
                            "edited items")
        diffs = (edited - codes).double()
        self.direction_, self.norm_ = _unit(diffs.mean(0), "the mean edit difference")
        cos = (diffs @ self.direction_.double()) / diffs.norm(dim=1).clamp_min(1e-12)
        self.consistency_ = float(cos.mean())
        self.n_pairs_ = len(codes)
        return self


class PropertyRegression(_Finder):
    """Direction of a linear regression of a measured property on the codes.

    ``r2_``: held-out R^2 of that regression on a quarter of the items.
    """

    method = "property"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, codes: torch.Tensor, values: torch.Tensor) -> PropertyRegression:
        from sklearn.linear_model import LinearRegression
        from sklearn.model_selection import train_test_split

        if len(codes) < 8 or len(codes) != len(values):
            raise UserError("regressing a property needs at least 8 items with values")
        if float(values.float().std()) == 0.0:
            raise UserError("the property does not vary over these items")
        x, y = codes.double().numpy(), values.double().numpy()
        xa, xb, ya, yb = train_test_split(x, y, test_size=0.25, random_state=self.seed)
        self.r2_ = float(LinearRegression().fit(xa, ya).score(xb, yb))
        reg = LinearRegression().fit(x, y)
        self.direction_, self.norm_ = _unit(torch.from_numpy(reg.coef_), "the regression")
        return self
