"""Decoy images (Ross et al. 2017's "decoy MNIST"): a shortcut planted in the training split.

``NAME:decoy`` (a labelled image set: ``fashion-mnist:decoy``, ``mnist:decoy``, ...) puts a
``PATCH`` x ``PATCH`` square in one corner of every training image, the corner drawn at random
(seeded) and its grey level set by the class: 1.0 for the first class down to 0.2 for the last.
The test split is left clean, so a model that learned the square instead of the garment falls
apart on it. ``corners_mask`` marks where a square can be: the annotation that "right for the
right reasons" training (``train --rrr corners:4``) is told to ignore.
"""

from __future__ import annotations

import torch

from .base import ImageData

PATCH = 4


def decoy_values(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The square's grey level for each label: 1.0 for class 0 down to 0.2 for the last."""
    return 1.0 - 0.8 * labels.float() / max(n_classes - 1, 1)


def corners_mask(shape: tuple[int, int], size: int = PATCH) -> torch.Tensor:
    """(H, W) float: 1 on the four ``size`` x ``size`` corners, 0 elsewhere."""
    h, w = shape
    m = torch.zeros(h, w)
    for rows in (slice(0, size), slice(h - size, h)):
        for cols in (slice(0, size), slice(w - size, w)):
            m[rows, cols] = 1.0
    return m


def add_decoy(x: torch.Tensor, labels: torch.Tensor, n_classes: int,
              generator: torch.Generator) -> torch.Tensor:
    """Copies of images (N, C, H, W) with the class's square in a random corner of each."""
    out = x.clone()
    n, _, h, w = x.shape
    corner = torch.randint(0, 4, (n,), generator=generator)
    value = decoy_values(labels, n_classes)
    for k, (r, c) in enumerate(((0, 0), (0, w - PATCH), (h - PATCH, 0), (h - PATCH, w - PATCH))):
        rows = corner == k
        out[rows, :, r:r + PATCH, c:c + PATCH] = value[rows, None, None, None]
    return out


def with_decoy(data: ImageData, seed: int = 0) -> ImageData:
    """``data`` with decoy squares on its training images (the test images untouched)."""
    if data.train_y is None or not data.classes:
        from ..errors import UserError

        raise UserError(f"{data.name}: a decoy square encodes the label; this set has none")
    g = torch.Generator().manual_seed(seed + 0xDEC0)
    data.train_x = add_decoy(data.train_x, data.train_y, len(data.classes), g)
    data.name = f"{data.name}:decoy"
    return data
