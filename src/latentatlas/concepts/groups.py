"""Choosing groups of items on the command line.

A selector is one or more conditions joined by ``&``:
- ``label=Sneaker,Ankle_boot``: class names (case-insensitive; ``_`` matches a space);
- ``height>18``, ``kind==3``, ``x<=4``: a ground-truth factor of the dataset (``shapes``);
- ``brightness>q0.8``: a measured property (see ``PROPERTIES``) above its 0.8 quantile;
- ``idx=1,5,9``: explicit indices.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from ..data import ImageData
from ..data.base import class_index
from ..errors import UserError
from .properties import PROPERTIES, measure

_COMPARE = re.compile(r"^\s*([A-Za-z_]+)\s*(>=|<=|==|>|<)\s*(q?)([-+0-9.eE]+)\s*$")
_OPS = {">": torch.gt, "<": torch.lt, ">=": torch.ge, "<=": torch.le, "==": torch.eq}


def _condition(cond: str, x: torch.Tensor, labels: torch.Tensor | None,
               classes: list[str] | None, factors: dict[str, torch.Tensor]) -> torch.Tensor:
    n = len(x)
    key, eq, rest = cond.partition("=")
    if eq and key.strip() == "label" and not rest.startswith("="):
        if labels is None or not classes:
            raise UserError("this dataset has no labels to select by")
        wanted = [class_index(classes, w.strip(), "label") for w in rest.split(",")
                  if w.strip()]
        return torch.isin(labels, torch.tensor(wanted))
    if eq and key.strip() == "idx" and not rest.startswith("="):
        try:
            idx = [int(t) for t in rest.split(",") if t.strip()]
        except ValueError:
            raise UserError(f"idx= takes whole numbers: {cond!r}") from None
        bad = [i for i in idx if not 0 <= i < n]
        if bad:
            raise UserError(f"index {bad[0]} is out of range (0..{n - 1})")
        mask = torch.zeros(n, dtype=torch.bool)
        mask[idx] = True
        return mask
    m = _COMPARE.match(cond)
    if not m:
        raise UserError(f"cannot read selector {cond!r}: use label=A,B, FACTOR>V, "
                        "PROPERTY>qQ or idx=1,2")
    name, op, quantile, value_text = m.groups()
    value = float(value_text)
    if name in factors and not quantile:
        values = factors[name].double()
    elif name in PROPERTIES:
        values = measure(x, [name])[name].double()
        if quantile:
            if not 0.0 <= value <= 1.0:
                raise UserError(f"a quantile must lie in [0, 1], got q{value_text}")
            value = float(torch.quantile(values, value))
    else:
        known = sorted(set(factors) | set(PROPERTIES))
        raise UserError(f"unknown factor or property {name!r}; known here: {', '.join(known)}")
    return _OPS[op](values, value)


def implied_target(selector: str | None) -> str | None:
    """The identifier a group selector is about, when it names exactly one: ``height>18`` and
    ``brightness>q0.8 & label=boot`` imply ``height`` and ``brightness``; labels and indices
    imply none."""
    names = {m.group(1) for cond in (selector or "").split("&")
             if (m := _COMPARE.match(cond)) and m.group(1) in PROPERTIES}
    return names.pop() if len(names) == 1 else None


def select(selector: str | None, data: ImageData, split: str = "train", n: int | None = None,
           seed: int = 0, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Indices into ``split`` of the items matching ``selector`` (None: all), minus
    ``exclude``; at most ``n`` of them, drawn with ``seed``."""
    x = data.train_x if split == "train" else data.test_x
    labels = data.train_y if split == "train" else data.test_y
    factors = data.train_factors if split == "train" else data.test_factors
    mask = torch.ones(len(x), dtype=torch.bool)
    for cond in (selector.split("&") if selector else []):
        mask &= _condition(cond, x, labels, data.classes, factors)
    if exclude is not None:
        mask[exclude] = False
    idx = mask.nonzero().flatten()
    if n is not None and len(idx) > n:
        order = np.random.default_rng([seed, 0xC0]).permutation(len(idx))[:n]
        idx = idx[torch.from_numpy(np.sort(order))]
    return idx
