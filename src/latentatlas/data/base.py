"""The container every image dataset loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..errors import UserError


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
        )
