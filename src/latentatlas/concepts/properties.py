"""Concept identifiers measured on images: height, width, brightness, mass, cx, cy.

Each takes (N, C, H, W) images in [0, 1] and returns (N,) values. The foreground is every pixel
brighter than ``FOREGROUND`` (on the channel mean); sizes and positions are in pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import UserError

FOREGROUND = 0.2


def _gray(images: torch.Tensor) -> torch.Tensor:
    return images.float().mean(1)  # (N, H, W)


def _extent(mask: torch.Tensor) -> torch.Tensor:
    """Rows (or columns) between the first and the last one that holds foreground, inclusive."""
    n, length = mask.shape
    idx = torch.arange(length, device=mask.device).expand(n, length)
    first = torch.where(mask, idx, length).amin(1)
    last = torch.where(mask, idx, -1).amax(1)
    return (last - first + 1).clamp_min(0).float()


def height(images: torch.Tensor) -> torch.Tensor:
    """Vertical extent of the foreground, pixels."""
    return _extent((_gray(images) > FOREGROUND).any(2))


def width(images: torch.Tensor) -> torch.Tensor:
    """Horizontal extent of the foreground, pixels."""
    return _extent((_gray(images) > FOREGROUND).any(1))


def brightness(images: torch.Tensor) -> torch.Tensor:
    """Mean intensity of the foreground pixels, in [0, 1] (0 for an empty image)."""
    g = _gray(images)
    fg = g > FOREGROUND
    return (g * fg).sum((1, 2)) / fg.sum((1, 2)).clamp_min(1)


def mass(images: torch.Tensor) -> torch.Tensor:
    """Total intensity, in pixel units (a full white pixel counts 1)."""
    return _gray(images).sum((1, 2))


def _centroid(images: torch.Tensor, axis: int) -> torch.Tensor:
    g = _gray(images)
    coords = torch.arange(g.shape[axis], dtype=g.dtype)
    profile = g.sum(2 if axis == 1 else 1)  # (N, H) for rows, (N, W) for columns
    return (profile * coords).sum(1) / profile.sum(1).clamp_min(1e-8)


def cx(images: torch.Tensor) -> torch.Tensor:
    """Intensity-weighted column of the centre, pixels from the left."""
    return _centroid(images, 2)


def cy(images: torch.Tensor) -> torch.Tensor:
    """Intensity-weighted row of the centre, pixels from the top."""
    return _centroid(images, 1)


PROPERTIES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "height": height, "width": width, "brightness": brightness, "mass": mass, "cx": cx, "cy": cy,
}


def measure(images: torch.Tensor, names: list[str] | None = None) -> dict[str, torch.Tensor]:
    """Every named property of every image: {name: (N,)}."""
    names = list(PROPERTIES) if names is None else names
    for name in names:
        if name not in PROPERTIES:
            raise UserError(f"unknown property {name!r}; known: {', '.join(PROPERTIES)}")
    return {name: PROPERTIES[name](images) for name in names}
