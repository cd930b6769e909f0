"""``shapes``: synthetic 28x28 grayscale silhouettes with exact, independent factors.

Every factor is drawn independently and uniformly from its range, and the drawn silhouette's
bounding box is exactly ``height`` rows by ``width`` columns (hard edges, no anti-aliasing), so
a measurement of the pixels recovers the factors. This is the ground-truth bench for the concept
methods: "taller" here means ``height`` + 1 with everything else held fixed.

Factors (all integers):
- ``kind``: 0 ellipse, 1 rectangle, 2 triangle (apex up), 3 boot (an L: a shaft and a sole)
- ``height``, ``width``: bounding-box size in pixels, 8..20
- ``brightness``: the gray level of every pixel of the shape, 100..255 (pixel value = level/255)
- ``x``: column of the box's left edge, 0..8
- ``y``: row of the box's bottom edge (the ground line), 19..27; shapes grow upward from it
"""

from __future__ import annotations

import numpy as np
import torch

from .base import ImageData

SIZE = 28
KINDS = ["ellipse", "rectangle", "triangle", "boot"]
RANGES = {  # inclusive integer ranges
    "kind": (0, 3),
    "height": (8, 20),
    "width": (8, 20),
    "brightness": (100, 255),
    "x": (0, 8),
    "y": (19, 27),
}


def sample_factors(n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """Draw ``n`` independent factor settings, each uniform over its range."""
    return {
        k: torch.from_numpy(rng.integers(lo, hi + 1, size=n).astype(np.int64))
        for k, (lo, hi) in RANGES.items()
    }


def render(factors: dict[str, torch.Tensor]) -> torch.Tensor:
    """Draw the silhouettes described by ``factors``: (N,) int tensors -> (N, 1, 28, 28) floats.

    Factors may leave the sampling ranges (an edit may make a shape taller than 20) as long as
    the box stays inside the image.
    """
    f = {k: v.to(torch.float32).view(-1, 1, 1) for k, v in factors.items()}
    kind = factors["kind"].view(-1, 1, 1)
    h, w = f["height"], f["width"]
    left, bottom = f["x"], f["y"]
    top = bottom - h + 1
    if (top < 0).any() or (left < 0).any() or (left + w > SIZE).any() or (bottom >= SIZE).any():
        raise ValueError("a shape's bounding box leaves the 28x28 image")
    r = torch.arange(SIZE, dtype=torch.float32).view(1, SIZE, 1)
    c = torch.arange(SIZE, dtype=torch.float32).view(1, 1, SIZE)
    in_box = (r >= top) & (r <= bottom) & (c >= left) & (c < left + w)
    cy, cx = top + (h - 1) / 2, left + (w - 1) / 2  # box centre in pixel coordinates
    # Ellipse inscribed in the box; the centre row and column always reach the box edges.
    ellipse = ((r - cy) / (h / 2)) ** 2 + ((c - cx) / (w / 2)) ** 2 <= 1.0
    ellipse |= ((c - cx).abs() <= 0.5) | ((r - cy).abs() <= 0.5)
    # Triangle: the half-width grows linearly from the apex row to the full base.
    row_in = r - top  # 0 at the apex row
    half = torch.clamp((row_in + 1) / h * (w / 2), min=0.5)
    triangle = (c - cx).abs() <= half
    # Boot: a shaft over the left ~45% of the width, a sole over the bottom ~35% of the height.
    shaft = c < left + torch.ceil(w * 0.45)
    sole = r > bottom - torch.ceil(h * 0.35)
    boot = shaft | sole
    shape = torch.where(
        kind == 0, ellipse,
        torch.where(kind == 1, torch.ones_like(ellipse), torch.where(kind == 2, triangle, boot)),
    )
    mask = in_box & shape
    return (mask.to(torch.float32) * (f["brightness"] / 255.0)).unsqueeze(1)


def load_shapes(seed: int = 0, n_train: int = 20_000, n_test: int = 5_000) -> ImageData:
    """Generate the ``shapes`` dataset; the same seed gives the same images, bit for bit."""
    rng = np.random.default_rng([seed, 0x5A4E])
    train_f = sample_factors(n_train, rng)
    test_f = sample_factors(n_test, rng)
    return ImageData(
        name="shapes",
        train_x=render(train_f),
        test_x=render(test_f),
        train_y=train_f["kind"].clone(),
        test_y=test_f["kind"].clone(),
        classes=list(KINDS),
        train_factors=train_f,
        test_factors=test_f,
        source=f"generated, seed {seed}",
    )
