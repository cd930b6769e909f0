"""What every explainer shares: the one result type, the method names, class probabilities,
the target class, LIME's weighted ridge fit, and KernelSHAP's coalitions and constrained fit."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from math import comb

import numpy as np
import torch

from ..data.base import class_index

METHODS = ("saliency", "gradxinput", "ig", "occlusion", "lime", "kernelshap", "anchors")
TEXT_ONLY = ("anchors",)
IMAGE_METHODS = tuple(m for m in METHODS if m not in TEXT_ONLY)


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


def distinct_rows(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of 0/1 ``masks`` and, per row, the index of its distinct row (rows
    packed into 64-bit keys when they fit: much faster than comparing rows)."""
    n = masks.shape[1]
    if n > 62:
        unique, inverse = np.unique(masks, axis=0, return_inverse=True)
        return unique, inverse.reshape(-1)
    keys = masks.astype(np.int64) @ (np.int64(1) << np.arange(n, dtype=np.int64))
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return masks[first], inverse.reshape(-1)


def shapley_coalitions(n: int, budget: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """KernelSHAP's coalitions of ``n`` features (Lundberg & Lee 2017) for at most ``budget``
    model evaluations: (S, n) 0/1 masks, neither empty nor full, and each one's weight in the
    regression.

    The Shapley kernel gives a coalition of s features the weight (n - 1) / (C(n, s) s (n - s)),
    so the sizes near 1 and n - 1 carry most of it. Sizes are taken in pairs (s, n - s) from
    s = 1: a pair whose coalitions all fit in its share (by kernel mass) of the budget left is
    enumerated, each coalition with its exact weight; the rest of the budget draws pairs in
    proportion to their kernel mass, a uniform coalition of size s and its complement, the
    mass left shared equally among the draws (repeats merged). A budget of 2^n - 2 or more
    enumerates every coalition, and the fit gives the exact Shapley values."""
    if n < 1 or budget < 1:
        raise ValueError("need at least one feature and one evaluation")
    rng = np.random.default_rng(seed)
    mass = {s: (n - 1) / (s * (n - s)) for s in range(1, n)}
    pairs = [sorted({s, n - s}) for s in range(1, n // 2 + 1)]
    rows: list[np.ndarray] = []
    weights: list[float] = []
    budget_left, mass_left = budget, sum(mass.values())
    done = 0
    for pair in pairs:
        count = sum(comb(n, s) for s in pair)
        pair_mass = sum(mass[s] for s in pair)
        if count > budget_left * pair_mass / mass_left + 1e-9:
            break
        for s in pair:
            for members in itertools.combinations(range(n), s):
                row = np.zeros(n)
                row[list(members)] = 1.0
                rows.append(row)
                weights.append(mass[s] / comb(n, s))
        budget_left -= count
        mass_left -= pair_mass
        done += 1
    rest = pairs[done:]
    draws = budget_left // 2
    if rest and draws:
        p = np.array([sum(mass[s] for s in pair) for pair in rest])
        small = np.array([pair[0] for pair in rest])[rng.choice(len(rest), draws, p=p / p.sum())]
        ranks = rng.random((draws, n)).argsort(1).argsort(1)
        drawn = (ranks < small[:, None]).astype(np.float64)  # a uniform subset of that size
        drawn = np.vstack([drawn, 1.0 - drawn])
        unique, inverse = distinct_rows(drawn)
        shares = np.bincount(inverse, minlength=len(unique)) * (mass_left / len(drawn))
        rows.extend(unique)
        weights.extend(shares)
    if not rows:  # n = 1: no coalition lies between the empty and the full one
        return np.zeros((0, n)), np.zeros(0)
    return np.asarray(rows), np.asarray(weights)


def kernelshap_fit(masks: np.ndarray, weights: np.ndarray, y: np.ndarray, full: float,
                   empty: float) -> np.ndarray:
    """The Shapley kernel's weighted least squares with the efficiency constraint: (S, n)
    coalitions, their weights and the model's output on each, the output on the whole input
    (``full``) and on none of it (``empty``) -> n attributions that sum to full - empty
    exactly (the last one is eliminated as full - empty minus the others)."""
    n = masks.shape[1]
    delta = full - empty
    if n == 1 or len(masks) == 0:
        return np.full(n, delta / n)
    target = y - empty - masks[:, -1] * delta
    x = masks[:, :-1] - masks[:, -1:]
    r = np.sqrt(weights)
    phi, *_ = np.linalg.lstsq(x * r[:, None], target * r, rcond=None)
    return np.append(phi, delta - phi.sum())
