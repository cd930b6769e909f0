"""Image grids written as PNG with Pillow (no plotting stack needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .errors import UserError
from .fileio import write_atomic
from .plotting import png_path


def grid_array(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one uint8 (rows*H, cols*W[, 3]) tiling, white padding."""
    n, c, h, w = images.shape
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.float32)
    arr = images.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        canvas[y:y + h, x:x + w] = arr[i]
    out = (canvas * 255 + 0.5).astype(np.uint8)
    return out[..., 0] if c == 1 else out


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None,
              scale: int = 2) -> Path:
    """Save images as a PNG grid (each pixel ``scale`` x ``scale``), atomically."""
    from PIL import Image

    path = png_path(path, "image grids")
    img = Image.fromarray(grid_array(images, nrow))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    try:
        write_atomic(path, lambda p: img.save(p, format="PNG"))
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    return path
