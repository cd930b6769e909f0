"""Anchors (Ribeiro et al. 2018) for a text classifier: the few words that, kept, hold the
prediction whatever happens to the rest.

A perturbed copy of the text keeps each word with probability 1/2 and turns the others into
<unk> (the `anchor-exp` package's "UNK distribution"); an anchor A is a set of words always
kept. Its precision is the share of copies holding A whose predicted class is the original
prediction, its coverage the share of copies from the perturbation distribution that hold
every word of A. The search is the paper's beam search: anchors grow one word at a time; at
each size every extension of the ``beam`` best anchors is sampled in batches, each until a
KL confidence bound (Kaufmann & Kalyanakrishnan 2013) puts its precision above or below
``threshold`` at level ``delta`` or ``max_samples`` are spent; the smallest anchor whose lower
bound clears the threshold wins (among anchors of one size, whose coverage under this
perturbation is the same 2^-size, the one with the highest lower bound). The whole
text is always an anchor (nothing is perturbed), so the search ends; before it, the empty
anchor is tried: a prediction that most perturbed copies keep needs no words (coverage 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import OptionError


@dataclass
class Anchor:
    """An anchor: its word positions and words in the order the search added them (the best
    single word first), precision and coverage (shares), and the model evaluations spent."""

    positions: list[int]
    words: list[str]
    precision: float
    coverage: float
    samples: int


def kl_bernoulli(p: float, q: float) -> float:
    """KL(Bernoulli(p) || Bernoulli(q)), nats."""
    eps = 1e-12
    p, q = min(max(p, eps), 1 - eps), min(max(q, eps), 1 - eps)
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


def kl_bounds(mean: float, n: int, level: float) -> tuple[float, float]:
    """The KL confidence interval of a Bernoulli mean from n draws: every q with n KL(mean || q)
    <= ``level``, found by bisection (36 halvings: to about 1e-11)."""
    def bound(lo: float, hi: float, upper: bool) -> float:
        for _ in range(36):
            mid = (lo + hi) / 2
            inside = n * kl_bernoulli(mean, mid) <= level
            lo, hi = (mid, hi) if inside == upper else (lo, mid)
        return lo if upper else hi
    return bound(0.0, mean, upper=False), bound(mean, 1.0, upper=True)


def find_anchor(predict, tokens: list[str], *, threshold: float = 0.95, delta: float = 0.05,
                beam: int = 2, batch: int = 64, max_samples: int = 1024,
                coverage_samples: int = 10000, seed: int = 0) -> Anchor:
    """The anchor of a text of ``tokens`` for a classifier ``predict``: (S, n) bool keep-masks
    -> (S,) bool, "the copy gets the original prediction"."""
    if not 0 < threshold < 1:
        raise OptionError("threshold", f"must be between 0 and 1, got {threshold}")
    n = len(tokens)
    rng = np.random.default_rng(seed)
    pool = rng.random((coverage_samples, n)) < 0.5  # copies from the perturbation distribution
    spent = 0
    stats: dict[tuple[int, ...], list[int]] = {}  # anchor -> [copies with its prediction, copies]

    def draw(anchor: tuple[int, ...], m: int) -> None:
        nonlocal spent
        keep = rng.random((m, n)) < 0.5
        keep[:, list(anchor)] = True
        same = predict(torch.from_numpy(keep))
        s = stats.setdefault(anchor, [0, 0])
        s[0] += int(same.sum())
        s[1] += m
        spent += m

    def bounds(anchor: tuple[int, ...], level: float) -> tuple[float, float]:
        hits, count = stats[anchor]
        return kl_bounds(hits / count, count, level)

    # the empty anchor first: a prediction that most perturbed copies keep needs no words
    level = math.log(1 / delta)
    draw((), batch)
    while stats[()][1] < max_samples and bounds((), level)[0] < threshold <= bounds((), level)[1]:
        draw((), batch)
    if bounds((), level)[0] >= threshold:
        return _anchor((), tokens, stats[()][0] / stats[()][1], pool, spent)
    beam_anchors: list[tuple[int, ...]] = [()]
    added: dict[tuple[int, ...], tuple[int, ...]] = {(): ()}  # anchor -> words in entry order
    for size in range(1, n + 1):
        for a in beam_anchors:
            for w in range(n):
                if w not in a:
                    added.setdefault(tuple(sorted({*a, w})), (*added[a], w))
        candidates = sorted({tuple(sorted({*a, w})) for a in beam_anchors for w in range(n)
                             if w not in a})
        if size == n:  # the whole text: nothing left to perturb, its precision is 1
            return _anchor(added[candidates[0]], tokens, 1.0, pool, spent)
        level = math.log(len(candidates) / delta)  # a union bound over this size's candidates
        for c in candidates:
            if c not in stats:
                draw(c, batch)
        undecided = list(candidates)
        while undecided:
            still = []
            for c in undecided:
                lo, hi = bounds(c, level)
                if lo < threshold <= hi and stats[c][1] < max_samples:
                    still.append(c)
            for c in still:
                draw(c, batch)
            undecided = still
        winners = [c for c in candidates if bounds(c, level)[0] >= threshold]
        if winners:  # one size, so one coverage (2^-size): the surest precision wins
            best = max(winners, key=lambda c: bounds(c, level)[0])
            return _anchor(added[best], tokens, stats[best][0] / stats[best][1], pool, spent)
        beam_anchors = sorted(candidates, key=lambda c: -stats[c][0] / stats[c][1])[:beam]
    raise AssertionError("unreachable: the whole text is an anchor")


def _coverage(anchor: tuple[int, ...], pool: np.ndarray) -> float:
    return float(pool[:, list(anchor)].all(1).mean())


def _anchor(anchor: tuple[int, ...], tokens: list[str], precision: float, pool: np.ndarray,
            spent: int = 0) -> Anchor:
    return Anchor(list(anchor), [tokens[i] for i in anchor], precision,
                  _coverage(anchor, pool), spent)
