"""The container every image dataset loader returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import UserError


def sample_indices(total: int, n: int, labels: Sequence | None, seed: int) -> np.ndarray:
    """A seeded sample of ``n`` of ``total`` items, sorted: stratified by ``labels`` when given
    (each label keeps its share, rounded by largest remainder), else uniform."""
    rng = np.random.default_rng([seed, 0x5A])
    if n >= total:
        return np.arange(total)
    if labels is None:
        return np.sort(rng.permutation(total)[:n])
    keys = np.asarray([str(v) for v in labels])
    groups = [np.flatnonzero(keys == k) for k in sorted(set(keys.tolist()))]
    exact = np.array([len(g) * n / total for g in groups])
    take = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - take), kind="stable")[: n - int(take.sum())]:
        take[i] += 1
    chosen = [rng.permutation(g)[:t] for g, t in zip(groups, take, strict=True)]
    return np.sort(np.concatenate(chosen))


def taken_text(kept: int, total: int, what: str, stratified: bool, seed: int) -> str:
    """How a split was cut, in words: ``300 of 60,000 training items (a sample stratified by
    label, seed 0)``; empty when nothing was cut."""
    if kept >= total:
        return ""
    how = "stratified by label" if stratified else "uniform"
    return f"{kept:,} of {total:,} {what} items (a sample {how}, seed {seed})"


def _folded(name: str) -> str:
    return " ".join(str(name).replace("_", " ").split()).casefold()


def class_index(classes: list[str], name: str, what: str = "class") -> int:
    """The index of class ``name`` in ``classes``: the exact name, else the one name equal to it
    ignoring case, runs of spaces and ``_`` for a space (``ankle_boot`` and ``Ankle Boot`` find
    ``Ankle boot``; ``positive`` finds ``Positive``). The one rule for every command, the Python
    API and the explorer; unknown or ambiguous names are a UserError listing the classes."""
    if name in classes:
        return classes.index(name)
    hits = [i for i, c in enumerate(classes) if _folded(c) == _folded(name)]
    if len(hits) == 1:
        return hits[0]
    shown = ", ".join(str(c) for c in classes[:20]) + (" ..." if len(classes) > 20 else "")
    if hits:
        raise UserError(f"{what} {name!r} matches several: "
                        + ", ".join(str(classes[i]) for i in hits) + "; give it exactly")
    raise UserError(f"unknown {what} {name!r}; known: {shown}")


@dataclass
class ImageData:
    """An image dataset resident in memory as whole tensors.

    Images are float32 in [0, 1] with shape (N, C, H, W). Labels are int64 class indices
    (or None); ``factors`` maps a ground-truth factor name to an (N,) tensor where the data
    has them (the synthetic ``shapes`` set).
    """

    name: str
    train_x: torch.Tensor
    test_x: torch.Tensor
    train_y: torch.Tensor | None = None
    test_y: torch.Tensor | None = None
    classes: list[str] | None = None
    train_factors: dict[str, torch.Tensor] = field(default_factory=dict)
    test_factors: dict[str, torch.Tensor] = field(default_factory=dict)
    source: str = ""
    taken: str = ""  # how the splits were cut from the full dataset, in words

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    def summary(self) -> str:
        c, h, w = self.image_shape
        n_cls = f", {len(self.classes)} classes" if self.classes else ""
        return (
            f"{self.name}: {len(self.train_x):,} train / {len(self.test_x):,} test, "
            f"{c}x{h}x{w}{n_cls}" + (f" ({self.source})" if self.source else "")
            + (f"; {self.taken}" if self.taken else "")
        )
