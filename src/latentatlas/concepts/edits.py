"""Image edits that make paired examples of a concept: taller, wider, brighter.

"The same shoe two pixels taller": ``taller:2`` stretches the foreground's bounding box by two
rows, keeping its bottom edge (the sole) where it is; ``wider:k`` stretches it by k columns
keeping the left edge; ``brighter:k`` raises every foreground pixel by k grey levels (of 255).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import UserError
from .properties import FOREGROUND

EDITS = ("taller", "wider", "brighter")


def _box(img: torch.Tensor) -> tuple[int, int, int, int] | None:
    fg = img.mean(0) > FOREGROUND
    rows, cols = fg.any(1).nonzero().flatten(), fg.any(0).nonzero().flatten()
    if len(rows) == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _stretch(img: torch.Tensor, amount: int, vertical: bool) -> torch.Tensor:
    box = _box(img)
    if box is None:
        return img.clone()
    top, bottom, left, right = box
    c, h, w = img.shape
    out = img.clone()
    crop = img[:, top:bottom, left:right]
    if vertical:
        new_top = max(0, top - amount)  # grow upward from the bottom edge
        size = (bottom - new_top, right - left)
        out[:, top:bottom, left:right] = 0
        out[:, new_top:bottom, left:right] = F.interpolate(
            crop.unsqueeze(0), size=size, mode="bilinear", align_corners=False)[0]
    else:
        new_right = min(w, right + amount)  # grow rightward from the left edge
        size = (bottom - top, new_right - left)
        out[:, top:bottom, left:right] = 0
        out[:, top:bottom, left:new_right] = F.interpolate(
            crop.unsqueeze(0), size=size, mode="bilinear", align_corners=False)[0]
    return out.clamp_(0, 1)


def apply_edit(images: torch.Tensor, edit: str) -> torch.Tensor:
    """Apply ``NAME:AMOUNT`` (e.g. ``taller:2``) to each (C, H, W) image of (N, C, H, W)."""
    name, _, amount_text = edit.partition(":")
    if name not in EDITS:
        raise UserError(f"unknown edit {name!r}; known: {', '.join(EDITS)} (as NAME:AMOUNT)")
    try:
        amount = int(amount_text) if amount_text else 2
    except ValueError:
        raise UserError(f"edit amount must be a whole number: {edit!r}") from None
    if amount < 1:
        raise UserError(f"edit amount must be at least 1: {edit!r}")
    if name == "brighter":
        fg = images.mean(1, keepdim=True) > FOREGROUND
        return torch.where(fg, (images + amount / 255.0).clamp(0, 1), images)
    return torch.stack([_stretch(img, amount, vertical=name == "taller") for img in images])
