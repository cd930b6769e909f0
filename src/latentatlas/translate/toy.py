"""Carrying "blue direction" from the object-centric model of the cell world to the
local-state model, by the complete-data method: generate sequences with the first model,
encode each state with the second, label it with the first model's identifier, fit a decision
tree (or a one-layer network), and check it on every state of the world."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import cell_world as cells


def direction_identifier_a(state: cells.State) -> int:
    """The object-centric identifier: the third coordinate."""
    return state[2]


def features(local: tuple[int, ...]) -> np.ndarray:
    """One-hot cell states: 10 cells x 6 states."""
    x = np.zeros((cells.CELLS, len(cells.LOCAL_STATES)))
    x[np.arange(cells.CELLS), local] = 1
    return x.ravel()


def _fit(states: list[cells.State], learner: str, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    x = np.stack([features(cells.to_local(s)) for s in states])
    y = np.array([direction_identifier_a(s) for s in states])
    if len(set(y)) < 2:  # one direction seen: the constant identifier
        return lambda locals_: np.full(len(locals_), y[0])
    if learner == "tree":
        model = DecisionTreeClassifier(random_state=seed).fit(x, y)
    elif learner == "linear":  # a one-layer network: logistic regression on one-hot cells
        model = LogisticRegression(C=100.0, max_iter=5000).fit(x, y)
    else:
        raise ValueError(f"learner must be tree or linear, got {learner!r}")
    return lambda locals_: model.predict(np.stack([features(z) for z in locals_]))


def learn_direction(examples: int, learner: str = "tree", seed: int = 0, length: int = 16):
    """An identifier of blue direction on local-state latents, learnt from ``examples``
    states of generated sequences (``length`` steps from uniformly drawn starts), each
    labelled by the object-centric identifier."""
    seqs = cells.sequences(-(-examples // length), length, seed)
    return _fit([s for seq in seqs for s in seq][:examples], learner, seed)


def agreement(identifier) -> float:
    """Share of all 180 states where the learnt identifier equals the object-centric one."""
    states = cells.all_states()
    predicted = identifier([cells.to_local(s) for s in states])
    truth = np.array([direction_identifier_a(s) for s in states])
    return float((predicted == truth).mean())


def learning_curve(learner: str = "tree", max_examples: int = 2048,
                   seed: int = 0) -> dict[str, Any]:
    """Agreement over all states after 16, 32, ... examples; ``exact_from``: the fewest
    examples from which every larger tested count was exact (None if the last was not);
    ``complete_data``: agreement when trained on every state once (the complete-data limit)."""
    curve = []
    n = 16
    while n <= max_examples:
        curve.append({"examples": n, "agreement": agreement(learn_direction(n, learner, seed))})
        n *= 2
    exact_from = None
    for point in reversed(curve):
        if point["agreement"] < 1.0:
            break
        exact_from = point["examples"]
    return {"learner": learner, "curve": curve, "exact_from": exact_from,
            "complete_data": agreement(_fit(cells.all_states(), learner, seed)),
            "states": len(cells.all_states())}


def rule_identifier(locals_: list[tuple[int, ...]]) -> np.ndarray:
    """The hand-written identifier of the notes: +1 if any cell is in state 4 or 5, -1 if any
    is in state 2 or 3."""
    return np.array([1 if any(c in (4, 5) for c in z) else -1 for z in locals_])


def cell_world_study(learner: str = "tree", max_examples: int = 2048, steps: int = 12,
                     seed: int = 0) -> dict:
    """The ``learning_curve`` of a learner, the hand-written rule's agreement, and one shown
    sequence of ``steps`` states (object-centric, local, and drawn as cells)."""
    r = learning_curve(learner, max_examples, seed)
    r["rule_agreement"] = agreement(rule_identifier)
    r["sequence"] = [{"object": list(s), "local": list(cells.to_local(s)),
                      "cells": cells.render(s)} for s in cells.sequences(1, steps, seed)[0]]
    return r
